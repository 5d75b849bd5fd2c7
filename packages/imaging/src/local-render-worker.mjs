// Render worker of the local procedural generator (see local-render-pool.ts). Plain JavaScript, so
// it starts the same under node, tsx and vitest; the renderer it runs is TypeScript, loaded through
// the parent's tsx loader when the worker inherited it, else through tsx's API.
import { parentPort } from 'node:worker_threads';

async function loadRenderer() {
  try {
    return await import('./local-image-render.ts');
  } catch (error) {
    if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    const { tsImport } = await import('tsx/esm/api');
    return tsImport('./local-image-render.ts', import.meta.url);
  }
}

const { renderLocalImage } = await loadRenderer();
parentPort.on('message', ({ id, request }) => {
  try {
    const { png, seed, scene, promptSha256 } = renderLocalImage(request);
    parentPort.postMessage({ id, ok: true, png, seed, scene, promptSha256 }, [png.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, ok: false, message: String(error?.message ?? error) });
  }
});
parentPort.postMessage({ ready: true });
