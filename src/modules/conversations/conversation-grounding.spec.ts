import { describe, expect, it, vi } from 'vitest';
import type { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AppException } from 'src/common/errors/app.exception';
import { TransportErrorCode, TransportException } from 'src/common/transport/transport.exception';
import {
  GROUNDING_SYSTEM_PROMPT,
  type GroundingRequest,
  type GroundingResult,
  KnowledgeRetriever,
  NO_SOURCES_NOTE,
} from 'src/modules/rag/grounding';
import { ConversationGrounding, GROUNDING_SOURCES, groundingQueries } from 'src/modules/conversations/conversation-grounding';

const KB = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const auth = {
  workspaceId: 'w',
  userId: 'u',
  apiKeyId: 'k',
  permissions: new Set([Permission.ConversationWrite, Permission.KnowledgeBaseRead]),
} as unknown as AuthContext;
const limits = { maxHistoryMessages: 10, maxPromptChars: 100_000 };

function groundingWith(answer: (request: GroundingRequest) => Promise<GroundingResult>) {
  const requests: GroundingRequest[] = [];
  const retriever = {
    requireKnowledgeBases: vi.fn(),
    retrieve: vi.fn((request: GroundingRequest) => {
      requests.push(request);
      return answer(request);
    }),
  } as unknown as KnowledgeRetriever;
  return { grounding: new ConversationGrounding(retriever), requests };
}

const source = {
  knowledgeBaseId: KB,
  chunkId: 'doc-1:4',
  documentId: 'doc-1',
  documentName: 'science.pdf',
  text: 'A volcano erupts when molten magma rises through cracks in the crust.',
  page: 2,
  headings: [],
  start: 120,
  end: 190,
  score: 0.03,
};
const searched = { knowledgeBaseId: KB, name: 'Science', status: 'searched' as const, code: null, message: null };

describe('groundingQueries', () => {
  it('searches with the message alone on a first turn, and also with the previous question after one', () => {
    expect(groundingQueries('  How do volcanoes erupt? ', [])).toEqual(['How do volcanoes erupt?']);
    const history = [
      { role: 'user' as const, content: 'How do volcanoes erupt?' },
      { role: 'assistant' as const, content: 'Magma rises [1].' },
    ];
    expect(groundingQueries('And then?', history)).toEqual(['And then?', 'How do volcanoes erupt?\nAnd then?']);
  });

  it('keeps every query within the search limit, keeping the end of the previous question', () => {
    const history = [{ role: 'user' as const, content: `${'x'.repeat(3_000)} volcano` }];
    const [alone, withContext] = groundingQueries('why?', history);
    expect(alone).toBe('why?');
    expect(withContext.length).toBe(2_000);
    expect(withContext.endsWith(' volcano\nwhy?')).toBe(true);
    expect(groundingQueries('y'.repeat(5_000), history)).toEqual(['y'.repeat(2_000)]);
  });
});

describe('ConversationGrounding', () => {
  it("asks for the conversation's knowledge bases as the sender, and numbers the sources in the prompt", async () => {
    const { grounding, requests } = groundingWith(() => Promise.resolve({ sources: [source], knowledgeBases: [searched] }));
    const turn = await grounding.ground(auth, {
      knowledgeBaseIds: [KB],
      systemPrompt: 'Be brief.',
      history: [],
      content: 'How do volcanoes erupt?',
      limits,
    });
    expect(requests[0]).toEqual({
      caller: { workspaceId: 'w', userId: 'u', apiKeyId: 'k', permissions: [Permission.ConversationWrite, Permission.KnowledgeBaseRead] },
      knowledgeBaseIds: [KB],
      queries: ['How do volcanoes erupt?'],
      limit: GROUNDING_SOURCES,
    });
    expect(turn.messages[0]).toEqual({ role: 'system', content: `${GROUNDING_SYSTEM_PROMPT}\n\nBe brief.` });
    expect(turn.messages[1].content).toContain('[1] (science.pdf, page 2)\nA volcano erupts');
    expect(turn.messages[1].content.endsWith('Question: How do volcanoes erupt?')).toBe(true);
    expect(turn.grounding).toEqual({
      knowledgeBases: [searched],
      sources: [
        { n: 1, knowledgeBaseId: KB, chunkId: 'doc-1:4', documentId: 'doc-1', documentName: 'science.pdf', page: 2, start: 120, end: 190 },
      ],
    });
  });

  it('still builds a prompt when nothing is found, saying so', async () => {
    const { grounding } = groundingWith(() => Promise.resolve({ sources: [], knowledgeBases: [searched] }));
    const turn = await grounding.ground(auth, { knowledgeBaseIds: [KB], systemPrompt: null, history: [], content: 'Hi', limits });
    expect(turn.messages[0].content).toBe(GROUNDING_SYSTEM_PROMPT);
    expect(turn.messages[1].content).toContain(NO_SOURCES_NOTE);
    expect(turn.grounding.sources).toEqual([]);
  });

  it('turns an unreachable rag role into CONVERSATION_GROUNDING_UNAVAILABLE, and keeps the caller’s own 4xx', async () => {
    const input = { knowledgeBaseIds: [KB], systemPrompt: null, history: [], content: 'Hi', limits };
    const unreachable = new TransportException(TransportErrorCode.RoleUnavailable, 'No process with role rag is listening');
    const failed = await groundingWith(() => Promise.reject(unreachable))
      .grounding.ground(auth, input)
      .catch((error: AppException) => error);
    expect(failed).toMatchObject({ code: 'CONVERSATION_GROUNDING_UNAVAILABLE', status: 503, details: { cause: 'ROLE_UNAVAILABLE' } });
    expect((failed as AppException).message).toContain('No process with role rag is listening');

    const quota = new AppException('QUOTA_EXCEEDED', 429, 'Token quota exceeded');
    await expect(groundingWith(() => Promise.reject(quota)).grounding.ground(auth, input)).rejects.toBe(quota);
  });
});
