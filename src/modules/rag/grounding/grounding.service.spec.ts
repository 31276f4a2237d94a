import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { Permission } from 'src/common/auth/permission.enum';
import { AppException } from 'src/common/errors/app.exception';
import type { SearchDto, SearchResponseDto, SearchResultDto } from 'src/modules/rag/dto/search.dto';
import type { GroundingRequest } from 'src/modules/rag/grounding/grounding.contract';
import { GroundingService } from 'src/modules/rag/grounding/grounding.service';
import type { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import type { RagDocument } from 'src/modules/rag/documents/rag-document.entity';
import type { ObjectStore } from 'src/modules/rag/rag.contracts';
import type { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import type { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import type { SearchCaller, SearchService } from 'src/modules/rag/search/search.service';

const WORKSPACE = '11111111-1111-4111-8111-111111111111';
const KB_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const KB_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const GONE = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

const hit = (chunkId: string, score = 0.5, page: number | null = 1): SearchResultDto => ({
  chunkId,
  documentId: chunkId.split(':')[0],
  documentName: `${chunkId.split(':')[0]}.pdf`,
  text: `text of ${chunkId}`,
  score,
  page,
  headings: [],
  start: 10,
  end: 20,
});

type Mode = 'keyword' | 'vector';

/** Results per knowledge base and mode (the same for every query); records every search it was asked for. */
function serviceWith(rankings: Record<string, Partial<Record<Mode, SearchResultDto[] | Error>> & { embedderId?: string }>) {
  const calls: { caller: SearchCaller; knowledgeBaseId: string; dto: SearchDto }[] = [];
  const searches = {
    search: vi.fn((caller: SearchCaller, knowledgeBaseId: string, dto: SearchDto): Promise<SearchResponseDto> => {
      calls.push({ caller, knowledgeBaseId, dto });
      const mode = dto.mode as Mode;
      const found = rankings[knowledgeBaseId]?.[mode] ?? [];
      return found instanceof Error ? Promise.reject(found) : Promise.resolve({ mode, results: found });
    }),
  } as unknown as SearchService;
  const knowledgeBases = {
    find: vi.fn((workspaceId: string, id: string) =>
      Promise.resolve(
        workspaceId === WORKSPACE && id in rankings
          ? ({ id, name: `kb ${id.slice(0, 1)}`, embedderId: rankings[id].embedderId ?? 'use-512' } as KnowledgeBase)
          : null,
      ),
    ),
  } as unknown as KnowledgeBasesRepository;
  return { service: new GroundingService(knowledgeBases, searches, {} as DocumentsRepository, {} as ObjectStore), calls };
}

const request = (knowledgeBaseIds: string[], permissions: string[] = [Permission.KnowledgeBaseRead]): GroundingRequest => ({
  caller: { workspaceId: WORKSPACE, userId: '22222222-2222-4222-8222-222222222222', apiKeyId: null, permissions },
  knowledgeBaseIds,
  queries: ['how do volcanoes erupt', 'earlier question\nhow do volcanoes erupt'],
  limit: 3,
});

describe('GroundingService', () => {
  it('searches every knowledge base by keyword and by vector with every query, as the caller', async () => {
    const { service, calls } = serviceWith({ [KB_A]: { keyword: [hit('a:1')] }, [KB_B]: { vector: [hit('b:1', 0.7, null)] } });
    const result = await service.retrieve(request([KB_A, KB_B]));
    expect(calls.map((call) => [call.knowledgeBaseId, call.dto.mode, call.dto.query, call.dto.limit])).toEqual(
      expect.arrayContaining([
        [KB_A, 'keyword', 'how do volcanoes erupt', 12],
        [KB_A, 'keyword', 'earlier question\nhow do volcanoes erupt', 12],
        [KB_A, 'vector', 'how do volcanoes erupt', 12],
        [KB_B, 'vector', 'earlier question\nhow do volcanoes erupt', 12],
      ]),
    );
    expect(calls).toHaveLength(8);
    expect(calls[0].caller).toEqual({ workspaceId: WORKSPACE, userId: request([]).caller.userId, apiKeyId: undefined });
    expect(result.sources.find((s) => s.chunkId === 'b:1')).toMatchObject({
      knowledgeBaseId: KB_B,
      documentName: 'b.pdf',
      page: null,
      start: 10,
      end: 20,
      text: 'text of b:1',
    });
    expect(result.knowledgeBases).toEqual([
      { knowledgeBaseId: KB_A, name: 'kb a', status: 'searched', code: null, message: null },
      { knowledgeBaseId: KB_B, name: 'kb b', status: 'searched', code: null, message: null },
    ]);
  });

  it('ranks across knowledge bases by relevance, not by which knowledge base comes first', async () => {
    const { service } = serviceWith({
      // The first knowledge base has nothing on the subject: no keyword hit, weak vectors.
      [KB_A]: { keyword: [], vector: [hit('a:1', 0.21), hit('a:2', 0.2)] },
      [KB_B]: { keyword: [hit('b:1', 0.4)], vector: [hit('b:1', 0.62), hit('b:2', 0.5)] },
    });
    const result = await service.retrieve(request([KB_A, KB_B]));
    expect(result.sources.map((s) => s.chunkId)).toEqual(['b:1', 'b:2', 'a:1']);
  });

  it('compares vector scores only between knowledge bases of the same embedder', async () => {
    const { service } = serviceWith({
      [KB_A]: { vector: [hit('a:1', 0.9)], embedderId: 'router:other' },
      [KB_B]: { vector: [hit('b:1', 0.3), hit('b:2', 0.2)] },
    });
    // Two rankings of their own: each one's best ranks first in it, so they tie ahead of b:2.
    expect((await service.retrieve(request([KB_A, KB_B]))).sources.map((s) => s.chunkId)).toEqual(['a:1', 'b:1', 'b:2']);
  });

  it('skips, and says why, knowledge bases the caller may not read now or that are gone', async () => {
    const { service, calls } = serviceWith({ [KB_A]: { keyword: [hit('a:1')] } });
    const forbidden = await service.retrieve(request([KB_A], [Permission.ConversationWrite]));
    expect(calls).toHaveLength(0);
    expect(forbidden.sources).toEqual([]);
    expect(forbidden.knowledgeBases[0]).toMatchObject({ knowledgeBaseId: KB_A, name: null, status: 'skipped', code: 'FORBIDDEN' });
    expect(forbidden.knowledgeBases[0].message).toContain(Permission.KnowledgeBaseRead);

    const gone = await service.retrieve(request([GONE, KB_A]));
    expect(gone.knowledgeBases.map((kb) => [kb.knowledgeBaseId, kb.status, kb.code])).toEqual([
      [GONE, 'skipped', 'KNOWLEDGE_BASE_NOT_FOUND'],
      [KB_A, 'searched', null],
    ]);
    expect(gone.sources.map((s) => s.chunkId)).toEqual(['a:1']);
  });

  it('falls back to keyword search for a knowledge base whose embedder is unavailable', async () => {
    const down = new RagException(RagErrorCode.EmbedderUnavailable, 'The embedder router:gone is unavailable');
    const { service, calls } = serviceWith({ [KB_A]: { vector: down, keyword: [hit('a:3')] } });
    const result = await service.retrieve(request([KB_A]));
    expect(calls.filter((call) => call.dto.mode === 'keyword')).toHaveLength(4);
    expect(result.sources.map((s) => s.chunkId)).toEqual(['a:3']);
    expect(result.knowledgeBases[0]).toMatchObject({ status: 'degraded', code: 'RAG_EMBEDDER_UNAVAILABLE', message: down.message });
  });

  it("lets the caller's own limits and unexpected failures through", async () => {
    const quota = new AppException('QUOTA_EXCEEDED', 429, 'Token quota exceeded');
    await expect(serviceWith({ [KB_A]: { vector: quota } }).service.retrieve(request([KB_A]))).rejects.toBe(quota);
    const broken = new Error('database gone');
    await expect(serviceWith({ [KB_A]: { keyword: broken } }).service.retrieve(request([KB_A]))).rejects.toBe(broken);
  });

  it('requires every knowledge base to be one of the workspace', async () => {
    const { service } = serviceWith({ [KB_A]: {} });
    await expect(service.requireKnowledgeBases({ workspaceId: WORKSPACE, knowledgeBaseIds: [KB_A] })).resolves.toBeDefined();
    await expect(service.requireKnowledgeBases({ workspaceId: WORKSPACE, knowledgeBaseIds: [KB_A, GONE] })).rejects.toMatchObject({
      code: 'KNOWLEDGE_BASE_NOT_FOUND',
    });
    const otherWorkspace = '33333333-3333-4333-8333-333333333333';
    await expect(service.requireKnowledgeBases({ workspaceId: otherWorkspace, knowledgeBaseIds: [KB_A] })).rejects.toMatchObject({
      code: 'KNOWLEDGE_BASE_NOT_FOUND',
    });
  });
});

describe("GroundingService.search (one knowledge base, the agents' document_search)", () => {
  it('searches as the caller in the requested mode, narrowed to the documents given', async () => {
    const { service, calls } = serviceWith({ [KB_A]: { keyword: [hit('d1:0', 0.9)] } });
    const caller = request([KB_A]).caller;
    const answer = await service.search({
      caller,
      knowledgeBaseId: KB_A,
      query: 'volcano',
      mode: 'keyword',
      limit: 5,
      documentIds: ['d1'],
    });
    expect(answer).toEqual({ mode: 'keyword', results: [hit('d1:0', 0.9)] });
    expect(calls).toEqual([
      {
        caller: { workspaceId: WORKSPACE, userId: caller.userId, apiKeyId: undefined },
        knowledgeBaseId: KB_A,
        dto: { query: 'volcano', mode: 'keyword', limit: 5, documentIds: ['d1'] },
      },
    ]);
  });

  it('refuses a caller who may not read knowledge bases, before searching', async () => {
    const { service, calls } = serviceWith({ [KB_A]: { keyword: [hit('d1:0')] } });
    const caller = request([KB_A], []).caller;
    await expect(service.search({ caller, knowledgeBaseId: KB_A, query: 'volcano', mode: 'keyword', limit: 5 })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
    expect(calls).toEqual([]);
  });

  it("passes the search route's errors on (the caller falls back to keywords on EMBEDDER_UNAVAILABLE)", async () => {
    const down = new RagException(RagErrorCode.EmbedderUnavailable, 'embedder down');
    const { service } = serviceWith({ [KB_A]: { vector: down } });
    await expect(
      service.search({ caller: request([KB_A]).caller, knowledgeBaseId: KB_A, query: 'volcano', mode: 'vector', limit: 5 }),
    ).rejects.toBe(down);
  });
});

describe("GroundingService.readDocument (the agents' data_analyzer)", () => {
  const DOC = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
  const csv = 'city,people\nLyon,520000\n';
  function readerWith(document: Partial<RagDocument> & { knowledgeBaseId: string }, stored = csv) {
    const row = {
      id: DOC,
      workspaceId: WORKSPACE,
      name: 'cities.csv',
      format: 'csv',
      sizeBytes: Buffer.byteLength(stored),
      storageKey: 'k/1',
      ...document,
    } as RagDocument;
    const find = vi.fn((scope: { workspaceId: string; knowledgeBaseId: string }, id: string) =>
      Promise.resolve(scope.workspaceId === row.workspaceId && scope.knowledgeBaseId === row.knowledgeBaseId && id === row.id ? row : null),
    );
    const get = vi.fn(() => Promise.resolve(Readable.from([Buffer.from(stored)])));
    const documents = { find } as unknown as DocumentsRepository;
    const objects = { get } as unknown as ObjectStore;
    return { service: new GroundingService({} as KnowledgeBasesRepository, {} as SearchService, documents, objects), find, get };
  }
  const read = (
    knowledgeBaseIds: string[],
    overrides: Partial<{ formats: ('csv' | 'json' | 'pdf')[]; maxBytes: number; permissions: string[] }> = {},
  ) => ({
    caller: request(knowledgeBaseIds, overrides.permissions).caller,
    knowledgeBaseIds,
    documentId: DOC,
    formats: overrides.formats ?? ['csv', 'json'],
    maxBytes: overrides.maxBytes ?? 1024,
  });

  it('finds the document in any of the knowledge bases given and returns its bytes', async () => {
    const { service } = readerWith({ knowledgeBaseId: KB_B });
    const answer = await service.readDocument(read([KB_A, KB_B]));
    expect(answer).toEqual({
      documentId: DOC,
      knowledgeBaseId: KB_B,
      name: 'cities.csv',
      format: 'csv',
      sizeBytes: Buffer.byteLength(csv),
      contentBase64: Buffer.from(csv).toString('base64'),
    });
  });

  it("is 404 when none of the knowledge bases given holds it, another workspace's included", async () => {
    const { service } = readerWith({ knowledgeBaseId: KB_B, workspaceId: '99999999-9999-4999-8999-999999999999' });
    await expect(service.readDocument(read([KB_A, KB_B]))).rejects.toMatchObject({ code: RagErrorCode.DocumentNotFound, status: 404 });
  });

  it('describes without reading a document of another format or over the size asked for', async () => {
    const pdf = readerWith({ knowledgeBaseId: KB_A, format: 'pdf' });
    expect(await pdf.service.readDocument(read([KB_A]))).toMatchObject({ format: 'pdf', contentBase64: null });
    expect(pdf.get).not.toHaveBeenCalled();
    const big = readerWith({ knowledgeBaseId: KB_A });
    expect(await big.service.readDocument(read([KB_A], { maxBytes: 4 }))).toMatchObject({ contentBase64: null });
    expect(big.get).not.toHaveBeenCalled();
  });

  it('refuses stored bytes beyond the limit even when the row says less (413)', async () => {
    const { service } = readerWith({ knowledgeBaseId: KB_A, sizeBytes: 10 }, 'x'.repeat(2048));
    await expect(service.readDocument(read([KB_A]))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });

  it('refuses a caller who may not read knowledge bases', async () => {
    const { service, find } = readerWith({ knowledgeBaseId: KB_A });
    await expect(service.readDocument(read([KB_A], { permissions: [] }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(find).not.toHaveBeenCalled();
  });
});
