import { Worker } from 'node:worker_threads';
import { ImagingError } from './imaging-error.ts';
import type { LocalRender } from './local-image-render.ts';
import type { GenerateImageRequest } from './types.ts';

interface Job {
  readonly request: GenerateImageRequest;
  readonly resolve: (render: LocalRender) => void;
  readonly reject: (error: unknown) => void;
}

type Reply =
  | { ready: true }
  | { id: number; ok: true; png: Uint8Array; seed: number; scene: string; promptSha256: string }
  | { id: number; ok: false; message: string };

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: { id: number; job: Job } | undefined;
}

const WORKER_URL = new URL('./local-render-worker.mjs', import.meta.url);

/**
 * A small pool of worker threads for the local procedural generator: the 15-20 ms of pixel work
 * per 1024x1024 image leaves the caller's event loop, which stays free for HTTP and store I/O,
 * the way a remote model (Nova Canvas) leaves it free. Jobs queue when every worker is busy; a
 * worker that fails is replaced and its job fails with `generation_failed`. Idle workers do not
 * keep the process alive.
 */
export class LocalRenderPool {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 0;
  #closed = false;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError('a render pool needs at least 1 worker');
    this.size = size;
  }

  render(request: GenerateImageRequest): Promise<LocalRender> {
    if (this.#closed)
      return Promise.reject(new ImagingError('generation_failed', 'the render pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * Starts every worker now and resolves once all are ready (each loads the renderer, which takes
   * a while on a loaded machine); a server calls it at startup so its first image does not wait.
   */
  warm(): Promise<void> {
    while (this.#spawn() !== undefined) {
      // spawn until the pool is full
    }
    return Promise.all(
      this.#slots.map(
        (slot) =>
          new Promise<void>((resolve, reject) => {
            if (slot.ready) return resolve();
            const onMessage = (reply: Reply) => {
              if (!('ready' in reply)) return;
              slot.worker.off('error', onError);
              resolve();
            };
            const onError = (error: unknown) => {
              slot.worker.off('message', onMessage);
              reject(
                new ImagingError('generation_failed', 'a local generator worker did not start', {
                  cause: error,
                }),
              );
            };
            slot.worker.once('error', onError);
            slot.worker.on('message', onMessage);
          }),
      ),
    ).then(() => undefined);
  }

  /** Stops the workers; queued and running jobs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) {
      job.reject(new ImagingError('generation_failed', 'the render pool was closed'));
    }
    await Promise.all(this.#slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#slots.find((s) => s.ready && s.busy === undefined) ?? this.#spawn();
      if (slot === undefined || !slot.ready || slot.busy !== undefined) return;
      const job = this.#queue.shift();
      if (job === undefined) return;
      const id = ++this.#nextId;
      slot.busy = { id, job };
      slot.worker.ref();
      slot.worker.postMessage({ id, request: job.request });
    }
  }

  /** A new worker while the pool is below its size; it takes jobs once it reported ready. */
  #spawn(): Slot | undefined {
    if (this.#slots.length >= this.size) return undefined;
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, ready: false, busy: undefined };
    this.#slots.push(slot);
    worker.unref();
    worker.on('message', (reply: Reply) => {
      if ('ready' in reply) {
        slot.ready = true;
        this.#dispatch();
        return;
      }
      const running = slot.busy;
      if (running === undefined || running.id !== reply.id) return;
      slot.busy = undefined;
      worker.unref();
      if (reply.ok) {
        running.job.resolve({
          png: reply.png,
          seed: reply.seed,
          scene: reply.scene,
          promptSha256: reply.promptSha256,
        });
      } else {
        running.job.reject(new ImagingError('generation_failed', `local generator: ${reply.message}`));
      }
      this.#dispatch();
    });
    const fail = (error: unknown) => {
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots.splice(index, 1);
      const failure = new ImagingError('generation_failed', 'the local generator worker stopped', {
        cause: error,
      });
      slot.busy?.job.reject(failure);
      slot.busy = undefined;
      if (this.#closed) return;
      // A worker that never got ready will not do better on a respawn: fail what waits for it.
      if (!slot.ready) {
        for (const job of this.#queue.splice(0)) job.reject(failure);
        return;
      }
      this.#dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.#slots.includes(slot)) fail(new Error(`worker exited with code ${code}`));
    });
    return slot;
  }
}
