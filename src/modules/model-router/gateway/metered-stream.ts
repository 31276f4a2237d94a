import type { ChatChunk, ChatToolCall, FinishReason, TokenUsage } from 'src/modules/model-router/providers/llm-provider';

export interface StreamOutcome {
  /** complete: the final chunk arrived; incomplete: the stream failed or the consumer left after the first chunk. */
  status: 'complete' | 'incomplete';
  content: string;
  toolCalls: ChatToolCall[];
  finishReason?: FinishReason;
  /** From the final chunk; absent for an incomplete answer. */
  usage?: TokenUsage;
  /** When the last chunk was read (performance.now()). */
  endedAt: number;
  error?: unknown;
}

/**
 * Wraps a routed stream so that its end is observed exactly once, however it ends: the final
 * chunk, an error, the consumer breaking out of its loop, or return() on an iterator never
 * read. Chunks pass through untouched and unbuffered.
 */
export function meterStream(source: AsyncIterable<ChatChunk>, onEnd: (outcome: StreamOutcome) => void): AsyncIterable<ChatChunk> {
  const iterator = source[Symbol.asyncIterator]();
  let content = '';
  const toolCalls: ChatToolCall[] = [];
  let ended = false;
  const end = (outcome: Pick<StreamOutcome, 'status' | 'finishReason' | 'usage' | 'error'>): void => {
    if (ended) return;
    ended = true;
    onEnd({ ...outcome, content, toolCalls, endedAt: performance.now() });
  };
  const metered: AsyncIterator<ChatChunk> = {
    async next() {
      if (ended) {
        // Past the final chunk: let the source finish (it releases its node slot on done).
        return iterator.next().catch(() => ({ done: true, value: undefined }));
      }
      let result: IteratorResult<ChatChunk>;
      try {
        result = await iterator.next();
      } catch (error) {
        end({ status: 'incomplete', error });
        throw error;
      }
      if (result.done) {
        end({ status: 'incomplete' });
        return result;
      }
      const chunk = result.value;
      content += chunk.content;
      if (chunk.toolCalls) toolCalls.push(...chunk.toolCalls);
      if (chunk.done) end({ status: 'complete', finishReason: chunk.finishReason, usage: chunk.usage });
      return result;
    },
    async return(value?: unknown) {
      end({ status: 'incomplete' });
      await iterator.return?.(value);
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      end({ status: 'incomplete', error });
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
  return { [Symbol.asyncIterator]: () => metered };
}
