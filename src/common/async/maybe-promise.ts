/**
 * Helpers for hot paths that answer synchronously when they can (a cache hit) and with a
 * promise only when they must wait: each avoided promise is a microtask hop, and with
 * AsyncLocalStorage active a promise hook call, on every request.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/** A synchronous throw turned into a rejection, for callers that expect refusals as one. */
// eslint-disable-next-line @typescript-eslint/require-await -- the point is the rejected promise
export async function rejection(error: unknown): Promise<never> {
  throw error;
}
