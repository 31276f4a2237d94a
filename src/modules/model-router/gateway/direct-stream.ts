import { ChatChunk, ChatRequest, LlmProvider, ProviderError } from 'src/modules/model-router/providers/llm-provider';
import { toProviderError } from 'src/modules/model-router/providers/ollama.provider';
import { RouterErrorCode, RouterException, RouterStreamInterruptedError } from 'src/modules/model-router/router.exception';

export interface DirectStream {
  chunks: AsyncIterable<ChatChunk>;
  timeToFirstTokenMs: number;
}

class FirstTokenTimeout extends Error {}

/**
 * The router's stream contract for a backend that is a single endpoint (an OpenAI-compatible
 * upstream, the in-process llama.cpp model): resolves after the first chunk, so a failure
 * before it is a plain RouterException (retryable ones become ROUTER_UPSTREAM_FAILED, which
 * the gateway may fall back from), and a failure after it is RouterStreamInterruptedError.
 */
export async function openDirectStream(
  provider: LlmProvider,
  request: ChatRequest,
  signal: AbortSignal | undefined,
  firstTokenTimeoutMs: number,
): Promise<DirectStream> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const detach = (): void => signal?.removeEventListener('abort', onAbort);
  const timer = setTimeout(
    () => controller.abort(new FirstTokenTimeout(`no first token within ${firstTokenTimeoutMs} ms`)),
    firstTokenTimeoutMs,
  );
  const started = performance.now();
  const iterator = provider.chatStream(request, controller.signal)[Symbol.asyncIterator]();
  let first: IteratorResult<ChatChunk>;
  try {
    first = await iterator.next();
  } catch (raw) {
    detach();
    controller.abort();
    if (signal?.aborted) throw new RouterException(RouterErrorCode.Aborted, 'request aborted');
    const reason: unknown = controller.signal.reason;
    const error = reason instanceof FirstTokenTimeout ? new ProviderError(reason.message, true) : toProviderError(raw);
    throw error.retryable
      ? new RouterException(RouterErrorCode.UpstreamFailed, `${provider.id}: ${error.message}`)
      : new RouterException(RouterErrorCode.UpstreamRejected, error.message);
  } finally {
    clearTimeout(timer);
  }
  const timeToFirstTokenMs = performance.now() - started;

  let sent = 0;
  let closed = false;
  const close = async (finished: boolean): Promise<void> => {
    if (closed) return;
    closed = true;
    detach();
    if (!finished) controller.abort();
    await iterator.return?.().catch(() => undefined);
  };
  async function* forward(): AsyncGenerator<ChatChunk> {
    let finished = false;
    try {
      let next = first;
      while (!next.done) {
        yield next.value;
        sent += 1;
        if (next.value.done) {
          finished = true;
          return;
        }
        try {
          next = await iterator.next();
        } catch (error) {
          if (signal?.aborted) throw new RouterException(RouterErrorCode.Aborted, 'request aborted');
          throw new RouterStreamInterruptedError(
            `${provider.id} failed after ${sent} chunks: ${toProviderError(error).message}; the answer is incomplete`,
            provider.id,
            sent,
          );
        }
      }
      throw new RouterStreamInterruptedError(
        `${provider.id} ended the stream without a final chunk; the answer is incomplete`,
        provider.id,
        sent,
      );
    } finally {
      await close(finished);
    }
  }
  const generator = forward();
  // return() on a generator never started skips its finally: close the upstream here too.
  const chunks: AsyncIterable<ChatChunk> = {
    [Symbol.asyncIterator]: () => ({
      next: () => generator.next(),
      return: async (value?: unknown) => {
        const result = await generator.return(value);
        await close(false);
        return result;
      },
      throw: (error?: unknown) => generator.throw(error),
    }),
  };
  return { chunks, timeToFirstTokenMs };
}
