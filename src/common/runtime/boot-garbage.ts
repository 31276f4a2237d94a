/**
 * Boot leaves garbage behind (module initialisers, decorator and schema scratch, migration
 * plans) that V8 collects only when the heap next grows, and an idle server never grows it.
 * One full collection shortly after listening hands those pages back to the OS: about 8 MB
 * of resident memory, for some 80 ms of one core once (docs/deployment.md, "Memory").
 *
 * It runs only where Node exposes `gc` (`--expose-gc`, as `npm start` and the image run it);
 * anywhere else this does nothing. The timer is unref'd so it never holds a process open.
 */
export function collectBootGarbage(delayMs = 1000): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return;
  setTimeout(() => gc(), delayMs).unref();
}
