import { describe, expect, it } from 'vitest';
import { Permission } from 'src/common/auth/permission.enum';
import type { AgentToolContext } from 'src/modules/agents/tools/agent-tool';
import { DocumentSearchTool } from 'src/modules/agents/tools/document-search.tool';
import type { SearchDto, SearchResultDto } from 'src/modules/rag/dto/search.dto';
import type { KnowledgeRetriever, KnowledgeSearchRequest, KnowledgeSearchResult } from 'src/modules/rag/grounding';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

const KB_A = '11111111-1111-4111-8111-111111111111';
const KB_B = '22222222-2222-4222-8222-222222222222';
const KB_OTHER = '33333333-3333-4333-8333-333333333333';

const hit = (documentName: string, score: number, text = `${documentName} text`): SearchResultDto => ({
  chunkId: `${documentName}:0`,
  documentId: `doc-${documentName}`,
  documentName,
  text,
  score,
  page: 3,
  headings: ['Chapter'],
  start: 10,
  end: 10 + text.length,
});

/**
 * The search results per knowledge base, as the RAG role returns them; records each call.
 * (The real search runs in test/agent-tools.e2e-spec.ts; this covers merging and fallbacks.)
 */
class ScriptedSearch {
  readonly calls: { knowledgeBaseId: string; dto: SearchDto; workspaceId: string }[] = [];
  constructor(
    private readonly results: Record<string, SearchResultDto[]>,
    private readonly embedderDown = new Set<string>(),
  ) {}
  search({ caller, knowledgeBaseId, ...dto }: KnowledgeSearchRequest): Promise<KnowledgeSearchResult> {
    this.calls.push({ knowledgeBaseId, dto, workspaceId: caller.workspaceId });
    if (dto.mode !== 'keyword' && this.embedderDown.has(knowledgeBaseId)) {
      return Promise.reject(new RagException(RagErrorCode.EmbedderUnavailable, 'embedder down'));
    }
    return Promise.resolve({ mode: dto.mode, results: (this.results[knowledgeBaseId] ?? []).slice(0, dto.limit) });
  }
}

const context = (knowledgeBaseIds = [KB_A, KB_B], permissions = [Permission.KnowledgeBaseRead]): AgentToolContext => ({
  auth: { workspaceId: 'ws-1', userId: 'u', permissions: new Set(permissions) } as unknown as AgentToolContext['auth'],
  knowledgeBaseIds,
  signal: new AbortController().signal,
});

describe('document_search tool', () => {
  const setup = (search: ScriptedSearch) => {
    const tool = new DocumentSearchTool(search as unknown as KnowledgeRetriever);
    return (args: Record<string, unknown>, ctx = context()) => tool.run(tool.argsSchema.parse(args), ctx);
  };

  it('searches every run knowledge base in hybrid mode and merges passages by score', async () => {
    const search = new ScriptedSearch({ [KB_A]: [hit('a1', 0.03), hit('a2', 0.01)], [KB_B]: [hit('b1', 0.02)] });
    const result = await setup(search)({ query: ' volcano ', limit: 2 });
    expect(search.calls.map((call) => [call.knowledgeBaseId, call.dto.mode, call.dto.limit, call.workspaceId])).toEqual([
      [KB_A, 'hybrid', 2, 'ws-1'],
      [KB_B, 'hybrid', 2, 'ws-1'],
    ]);
    const body = JSON.parse(result.content);
    expect(body.query).toBe('volcano');
    expect(body.passages).toEqual([
      {
        n: 1,
        knowledgeBaseId: KB_A,
        documentId: 'doc-a1',
        documentName: 'a1',
        page: 3,
        headings: ['Chapter'],
        start: 10,
        end: 17,
        score: 0.03,
        text: 'a1 text',
      },
      {
        n: 2,
        knowledgeBaseId: KB_B,
        documentId: 'doc-b1',
        documentName: 'b1',
        page: 3,
        headings: ['Chapter'],
        start: 10,
        end: 17,
        score: 0.02,
        text: 'b1 text',
      },
    ]);
  });

  it('passes document filters and the mode through', async () => {
    const search = new ScriptedSearch({ [KB_A]: [hit('a1', 1)] });
    const documentId = '44444444-4444-4444-8444-444444444444';
    await setup(search)({ query: 'x', knowledge_base_ids: [KB_A], document_ids: [documentId], mode: 'vector' });
    expect(search.calls).toEqual([
      { knowledgeBaseId: KB_A, workspaceId: 'ws-1', dto: { query: 'x', mode: 'vector', limit: 5, documentIds: [documentId] } },
    ]);
  });

  it('falls back to keyword search where the embedder is down, and says so', async () => {
    const search = new ScriptedSearch({ [KB_A]: [hit('a1', 0.5)], [KB_B]: [hit('b1', 0.1)] }, new Set([KB_B]));
    const body = JSON.parse((await setup(search)({ query: 'x' })).content);
    expect(body.keywordFallback).toEqual([KB_B]);
    expect(body.passages.map((p: any) => p.documentName)).toEqual(['a1', 'b1']);
    expect(search.calls.filter((call) => call.knowledgeBaseId === KB_B).map((call) => call.dto.mode)).toEqual(['hybrid', 'keyword']);
  });

  it('keeps every passage within the content budget', async () => {
    const long = 'w'.repeat(5_000);
    const search = new ScriptedSearch({ [KB_A]: Array.from({ length: 20 }, (_, i) => hit(`d${i}`, 1 - i / 100, long)) });
    const result = await setup(search)({ query: 'x', knowledge_base_ids: [KB_A], limit: 20 });
    expect(result.content.length).toBeLessThan(16_000);
    const body = JSON.parse(result.content);
    expect(body.passages).toHaveLength(20);
    expect(body.passages[0].text).toMatch(/…\[truncated: \d+ of 5000 characters shown\]$/);
  });

  it('refuses knowledge bases outside the run before searching anything', async () => {
    const search = new ScriptedSearch({ [KB_OTHER]: [hit('secret', 1)] });
    await expect(setup(search)({ query: 'x', knowledge_base_ids: [KB_A, KB_OTHER] })).rejects.toMatchObject({
      code: 'AGENT_TOOL_NOT_ALLOWED',
      message: `Knowledge base ${KB_OTHER} is not one this run may read; it may read: ${KB_A}, ${KB_B}`,
    });
    await expect(setup(search)({ query: 'x' }, context([]))).rejects.toMatchObject({ code: 'AGENT_TOOL_NOT_ALLOWED' });
    await expect(setup(search)({ query: 'x' }, context([KB_A], [Permission.ModelInvoke]))).rejects.toMatchObject({
      code: 'AGENT_TOOL_NOT_ALLOWED',
      message: expect.stringMatching(/knowledge-base.read/),
    });
    expect(search.calls).toHaveLength(0);
  });

  it('passes other search errors on (a knowledge base deleted during the run)', async () => {
    const search = {
      search: () => Promise.reject(new RagException(RagErrorCode.KnowledgeBaseNotFound, 'Knowledge base not found')),
    } as unknown as KnowledgeRetriever;
    const tool = new DocumentSearchTool(search);
    await expect(tool.run(tool.argsSchema.parse({ query: 'x' }), context())).rejects.toMatchObject({ code: 'KNOWLEDGE_BASE_NOT_FOUND' });
  });

  it('validates its arguments', () => {
    const tool = new DocumentSearchTool({} as KnowledgeRetriever);
    const check = (args: Record<string, unknown>) => tool.argsSchema.safeParse(args).success;
    expect(check({ query: 'x', limit: 21 })).toBe(false);
    expect(check({ query: 'x', knowledge_base_ids: ['not-a-uuid'] })).toBe(false);
    expect(check({ query: 'x', knowledge_base_ids: [] })).toBe(false);
    expect(check({ query: 'x', mode: 'semantic' })).toBe(false);
    expect(check({ query: 'x'.repeat(2_001) })).toBe(false);
    expect(check({ query: 'x', workspace_id: KB_A })).toBe(false);
  });
});
