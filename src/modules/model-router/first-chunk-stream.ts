import type { ChatChunk } from 'src/modules/model-router/providers/llm-provider';
import { toProviderError } from 'src/modules/model-router/providers/ollama.provider';
import { RouterErrorCode, RouterException, RouterStreamInterruptedError } from 'src/modules/model-router/router.exception';

export interface AfterFirstChunkOptions {
  signal?: AbortSignal;
  /** The error for a source that fails, or ends without its final chunk, after `sent` chunks. */
  interrupted(sent: number, reason: string): RouterStreamInterruptedError;
  /** Runs once however the stream ends; `finished` when the final chunk was read. */
  cleanup(finished: boolean): Promise<void>;
}

/**
 * The rest of a stream whose first chunk has already been read (the router's contract: a
 * stream is handed out only once something arrived). A later failure is an explicit
 * RouterStreamInterruptedError, never a silent end, and `cleanup` runs however the consumer
 * leaves: the final chunk, an error, breaking out of its loop, or `return()` on an iterator
 * it never read (which a generator alone would skip).
 */
export function continueAfterFirstChunk(
  first: IteratorResult<ChatChunk>,
  iterator: AsyncIterator<ChatChunk>,
  options: AfterFirstChunkOptions,
): AsyncIterable<ChatChunk> {
  let cleaned = false;
  const cleanup = async (finished: boolean): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await options.cleanup(finished);
  };
  async function* forward(): AsyncGenerator<ChatChunk> {
    let sent = 0;
    let finished = false;
    try {
      let next = first;
      while (!next.done) {
        // Finished as soon as the final chunk is handed out: a consumer that stops there
        // (rather than asking for more) has not left early, and nothing needs aborting.
        if (next.value.done) finished = true;
        yield next.value;
        sent += 1;
        if (finished) return;
        try {
          next = await iterator.next();
        } catch (error) {
          if (options.signal?.aborted) throw new RouterException(RouterErrorCode.Aborted, 'request aborted');
          throw options.interrupted(sent, toProviderError(error).message);
        }
      }
      throw options.interrupted(sent, 'stream ended without a final chunk');
    } finally {
      await cleanup(finished);
    }
  }
  const generator = forward();
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => generator.next(),
      return: async (value?: unknown) => {
        const result = await generator.return(value);
        await cleanup(false);
        return result;
      },
      throw: (error?: unknown) => generator.throw(error),
    }),
  };
}
