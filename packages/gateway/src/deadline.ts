import { ImagingError } from '@agentic-payments/imaging';
import { GATEWAY_ERRORS } from './reasons.ts';

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

/** A promise that never rejects (an abandoned call must not become an unhandled rejection). */
export function outcomeOf<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The outcome, or undefined when `ms` passed first. */
export async function beforeDeadline<T>(
  promise: Promise<Outcome<T>>,
  ms: number,
): Promise<Outcome<T> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `run` with an abort signal and a hard deadline: a generator that ignores the signal (an SDK
 * without cancellation) cannot hold the request and its purchase past the deadline.
 */
export async function withDeadline<T>(run: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const error = new ImagingError(
          GATEWAY_ERRORS.generationTimeout,
          `image generation took longer than its ${Math.max(0, ms)} ms budget`,
        );
        controller.abort(error);
        reject(error);
      },
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([run(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
