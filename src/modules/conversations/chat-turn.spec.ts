import { Logger } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import type { ChatGateway, GatewayStream, RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { ChatChunk } from 'src/modules/model-router/providers/llm-provider';
import { RouterErrorCode, RouterException } from 'src/modules/model-router/router.exception';
import { ActiveTurns } from 'src/modules/conversations/active-turns';
import { ChatTurn } from 'src/modules/conversations/chat-turn';
import { ConversationEventsPublisher } from 'src/modules/conversations/conversation-events.publisher';
import type { GroundedTurn } from 'src/modules/conversations/conversation-grounding';
import type { ConversationMessage, MessageSource } from 'src/modules/conversations/conversation-message.entity';
import type { ConversationStreamEvent } from 'src/modules/conversations/conversation-stream';
import type { AssistantOutcome, ConversationsRepository } from 'src/modules/conversations/conversations.repository';
import type { MessageDto } from 'src/modules/conversations/dto/messages.dto';

const routing = { model: 'm', nodeId: 'node-1', requested: 'm' } as RoutingDecision;

function placeholder(): ConversationMessage {
  const now = new Date();
  return {
    id: 'assistant-1',
    conversationId: 'c1',
    sequence: 2,
    role: 'assistant',
    content: '',
    status: 'streaming',
    model: null,
    nodeId: null,
    routing: null,
    finishReason: null,
    promptTokens: null,
    completionTokens: null,
    errorCode: null,
    errorMessage: null,
    citations: null,
    grounding: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** A turn over fakes: `chunks` is what the model streams, `finish` how storing the answer goes. */
function turnWith(options: {
  chunks?: (signal: AbortSignal) => AsyncIterable<ChatChunk>;
  open?: () => Promise<GatewayStream>;
  finish?: (outcome: AssistantOutcome) => Promise<ConversationMessage | null>;
  ground?: () => Promise<GroundedTurn>;
}) {
  const published: ConversationStreamEvent[] = [];
  const stored: AssistantOutcome[] = [];
  const stream = vi.fn(async (_request: unknown, _subject: unknown, call?: { signal?: AbortSignal }) =>
    options.open ? options.open() : { routing, chunks: options.chunks!(call!.signal!) },
  );
  const gateway = { stream } as unknown as ChatGateway;
  const repository = {
    finishAssistant: vi.fn(async (_id: string, outcome: AssistantOutcome) => {
      stored.push(outcome);
      return options.finish ? options.finish(outcome) : { ...placeholder(), ...outcome };
    }),
  } as unknown as ConversationsRepository;
  const publisher = { publish: (event: ConversationStreamEvent) => published.push(event) } as unknown as ConversationEventsPublisher;
  const logError = vi.fn();
  const logger = { error: logError } as unknown as Logger;
  const turn = new ChatTurn(
    { gateway, repository, publisher, logger },
    {
      conversationId: 'c1',
      userMessage: { id: 'user-1' } as MessageDto,
      assistantMessageId: 'assistant-1',
      request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      subject: { workspaceId: 'w', userId: 'u' },
      ground: options.ground,
    },
  );
  return { turn, published, stored, logError, stream };
}

/** Chunks arriving one by one, as from a network. */
async function* chunks(...pieces: ChatChunk[]): AsyncGenerator<ChatChunk> {
  for (const piece of pieces) yield await Promise.resolve(piece);
}

describe('ChatTurn', () => {
  it('stores a complete answer with its usage and ends with done', async () => {
    const { turn, published, stored } = turnWith({
      chunks: () =>
        chunks(
          { content: 'Hel', done: false },
          { content: 'lo', done: false },
          { content: '', done: true, finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 2 } },
        ),
    });
    await turn.connect();
    const terminal = await turn.relay();
    expect(published.map((event) => event.type)).toEqual(['route', 'token', 'token', 'done']);
    expect(stored).toEqual([
      expect.objectContaining({
        status: 'complete',
        content: 'Hello',
        finishReason: 'stop',
        promptTokens: 5,
        completionTokens: 2,
        errorCode: null,
      }),
    ]);
    expect(terminal).toMatchObject({ type: 'done', message: { status: 'complete', usage: { promptTokens: 5, completionTokens: 2 } } });
  });

  it('treats a stream that ends without its final chunk as interrupted, never as complete', async () => {
    const { turn, stored } = turnWith({ chunks: () => chunks({ content: 'half', done: false }) });
    await turn.connect();
    const terminal = await turn.relay();
    expect(stored[0]).toMatchObject({ status: 'incomplete', content: 'half', errorCode: RouterErrorCode.StreamInterrupted });
    expect(terminal).toMatchObject({ type: 'error', error: { code: RouterErrorCode.StreamInterrupted, statusCode: 502 } });
  });

  it('stores a failure before the first token as error, publishes it and rethrows it', async () => {
    const failure = new RouterException(RouterErrorCode.Overloaded, 'every slot is busy');
    const { turn, published, stored } = turnWith({ open: () => Promise.reject(failure) });
    await expect(turn.connect()).rejects.toBe(failure);
    expect(stored).toEqual([
      expect.objectContaining({ status: 'error', content: '', errorCode: 'ROUTER_OVERLOADED', errorMessage: 'every slot is busy' }),
    ]);
    expect(published).toEqual([
      expect.objectContaining({ type: 'error', error: { statusCode: 429, code: 'ROUTER_OVERLOADED', message: 'every slot is busy' } }),
    ]);
    await expect(turn.settled).resolves.toBeUndefined();
  });

  it('says so when the conversation was deleted before the answer could be stored', async () => {
    const { turn } = turnWith({
      chunks: () => chunks({ content: 'x', done: true, finishReason: 'stop' }),
      finish: () => Promise.resolve(null),
    });
    await turn.connect();
    expect(await turn.relay()).toMatchObject({ type: 'error', error: { code: 'CONVERSATION_NOT_FOUND' }, message: null });
  });

  it('ends with an internal error, and still settles, when the answer cannot be stored', async () => {
    const { turn, logError } = turnWith({
      chunks: () => chunks({ content: 'x', done: true, finishReason: 'stop' }),
      finish: () => Promise.reject(new Error('database is gone')),
    });
    await turn.connect();
    expect(await turn.relay()).toMatchObject({ type: 'error', error: { statusCode: 500, code: 'INTERNAL_ERROR' } });
    await expect(turn.settled).resolves.toBeUndefined();
    expect(logError).toHaveBeenCalledWith(expect.stringContaining('database is gone'));
  });

  it('stops the model and keeps the partial answer when whoever reads the events fails', async () => {
    const closed = vi.fn();
    async function* endless(): AsyncGenerator<ChatChunk> {
      try {
        for (;;) yield await Promise.resolve({ content: 'word ', done: false });
      } finally {
        closed();
      }
    }
    const { turn, stored } = turnWith({ chunks: endless });
    await turn.connect();
    let tokens = 0;
    await expect(
      turn.relay((event) => {
        if (event.type === 'token' && ++tokens === 2) throw new Error('socket closed');
      }),
    ).rejects.toThrow('socket closed');
    expect(closed).toHaveBeenCalled();
    expect(stored).toEqual([
      expect.objectContaining({ status: 'incomplete', content: 'word word ', errorCode: 'CONVERSATION_GENERATION_ABORTED' }),
    ]);
  });
});

describe('ChatTurn grounded in knowledge bases', () => {
  const source = (n: number): MessageSource => ({
    n,
    knowledgeBaseId: 'kb',
    chunkId: `doc:${n}`,
    documentId: 'doc',
    documentName: 'doc.pdf',
    page: n,
    start: n * 10,
    end: n * 10 + 9,
  });
  const grounding = { knowledgeBases: [], sources: [source(1), source(2)] };
  const groundedMessages = [{ role: 'user' as const, content: 'sources, then the question' }];

  it('sends the grounded context and stores the citations of the answer', async () => {
    const { turn, stored, stream } = turnWith({
      ground: () => Promise.resolve({ messages: groundedMessages, grounding }),
      chunks: () => chunks({ content: 'Yes [2], see [2, 7].', done: false }, { content: '', done: true, finishReason: 'stop' }),
    });
    await turn.connect();
    expect(await turn.relay()).toMatchObject({ type: 'done' });
    expect(stream.mock.calls[0][0]).toMatchObject({ model: 'm', messages: groundedMessages });
    expect(stored[0]).toMatchObject({ status: 'complete', citations: [source(2)], grounding });
  });

  it('stores a retrieval that fails as an error before the model is called, and rethrows it', async () => {
    const unavailable = new Error('rag is gone');
    const { turn, stored, published, stream } = turnWith({ ground: () => Promise.reject(unavailable) });
    await expect(turn.connect()).rejects.toBe(unavailable);
    expect(stream).not.toHaveBeenCalled();
    expect(stored).toEqual([expect.objectContaining({ status: 'error', content: '', errorCode: 'INTERNAL_ERROR' })]);
    expect(stored[0]).not.toHaveProperty('citations');
    expect(published.map((event) => event.type)).toEqual(['error']);
  });

  it('keeps what was searched, with no citations, when the model then fails before its first token', async () => {
    const { turn, stored } = turnWith({
      ground: () => Promise.resolve({ messages: groundedMessages, grounding }),
      open: () => Promise.reject(new RouterException(RouterErrorCode.NoNode, 'no node')),
    });
    await expect(turn.connect()).rejects.toThrow('no node');
    expect(stored[0]).toMatchObject({ status: 'error', errorCode: 'ROUTER_NO_NODE', citations: [], grounding });
  });
});

describe('ActiveTurns', () => {
  it('stops running answers at shutdown and waits until they are stored as incomplete', async () => {
    async function* untilAborted(signal: AbortSignal): AsyncGenerator<ChatChunk> {
      yield { content: 'partial', done: false };
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    const { turn, stored, published } = turnWith({ chunks: untilAborted });
    const active = new ActiveTurns();
    active.add(turn);
    await turn.connect();
    const relayed = turn.relay();
    await vi.waitFor(() => expect(published.map((event) => event.type)).toContain('token'));

    await active.onModuleDestroy();
    expect(stored).toEqual([
      expect.objectContaining({
        status: 'incomplete',
        content: 'partial',
        errorCode: 'CONVERSATION_GENERATION_ABORTED',
        errorMessage: 'the server is shutting down',
      }),
    ]);
    expect(await relayed).toMatchObject({ type: 'error', error: { code: 'CONVERSATION_GENERATION_ABORTED' } });
  });
});
