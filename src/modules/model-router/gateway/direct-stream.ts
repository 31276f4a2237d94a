import { ChatChunk, ChatRequest, LlmProvider, ProviderError } from 'src/modules/model-router/providers/llm-provider';
import { continueAfterFirstChunk } from 'src/modules/model-router/first-chunk-stream';
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

  const chunks = continueAfterFirstChunk(first, iterator, {
    signal,
    interrupted: (sent, reason) =>
      new RouterStreamInterruptedError(
        `${provider.id} failed after ${sent} chunks: ${reason}; the answer is incomplete`,
        provider.id,
        sent,
      ),
    cleanup: async (finished) => {
      detach();
      if (!finished) controller.abort();
      await iterator.return?.().catch(() => undefined);
    },
  });
  return { chunks, timeToFirstTokenMs };
}
