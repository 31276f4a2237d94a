import { describe, expect, it } from 'vitest';
import { meterStream, StreamOutcome } from 'src/modules/model-router/gateway/metered-stream';
import type { ChatChunk } from 'src/modules/model-router/providers/llm-provider';

async function* chunks(parts: ChatChunk[], failAfter?: number): AsyncGenerator<ChatChunk> {
  for (const [index, part] of parts.entries()) {
    if (index === failAfter) throw new Error('node died');
    yield await Promise.resolve(part);
  }
}

const answer: ChatChunk[] = [
  { content: 'a', done: false },
  { content: 'b', done: false },
  { content: '', done: true, finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 2 } },
];

describe('meterStream', () => {
  it('reports a complete answer once, with its content and usage, and passes chunks through untouched', async () => {
    const outcomes: StreamOutcome[] = [];
    const seen: ChatChunk[] = [];
    for await (const chunk of meterStream(chunks(answer), (outcome) => outcomes.push(outcome))) seen.push(chunk);
    expect(seen).toEqual(answer);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      status: 'complete',
      content: 'ab',
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 2 },
    });
  });

  it('reports an interrupted answer as incomplete with what was sent, and rethrows', async () => {
    const outcomes: StreamOutcome[] = [];
    const read = async (): Promise<void> => {
      for await (const chunk of meterStream(chunks(answer, 2), (outcome) => outcomes.push(outcome))) void chunk;
    };
    await expect(read()).rejects.toThrow('node died');
    expect(outcomes).toEqual([expect.objectContaining({ status: 'incomplete', content: 'ab', error: new Error('node died') })]);
    expect(outcomes[0].usage).toBeUndefined();
  });

  it('reports a consumer that leaves early, and one that never reads, as incomplete, once', async () => {
    const left: StreamOutcome[] = [];
    for await (const chunk of meterStream(chunks(answer), (outcome) => left.push(outcome))) {
      void chunk;
      break;
    }
    expect(left).toEqual([expect.objectContaining({ status: 'incomplete', content: 'a' })]);

    const unread: StreamOutcome[] = [];
    let sourceClosed = false;
    const source: AsyncIterable<ChatChunk> = {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: false, value: answer[0] }),
        return: () => {
          sourceClosed = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
    const iterator = meterStream(source, (outcome) => unread.push(outcome))[Symbol.asyncIterator]();
    await iterator.return?.();
    await iterator.return?.();
    expect(unread).toEqual([expect.objectContaining({ status: 'incomplete', content: '' })]);
    expect(sourceClosed).toBe(true);
  });
});
