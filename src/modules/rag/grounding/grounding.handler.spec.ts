import { describe, expect, it, vi } from 'vitest';
import { GroundingHandler } from 'src/modules/rag/grounding/grounding.handler';
import type { GroundingService } from 'src/modules/rag/grounding/grounding.service';

const UUID = '11111111-1111-4111-8111-111111111111';
const KB = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

function handler() {
  const grounding = {
    retrieve: vi.fn(() => Promise.resolve({ sources: [], knowledgeBases: [] })),
    requireKnowledgeBases: vi.fn((check: unknown) => Promise.resolve(check)),
    search: vi.fn(() => Promise.resolve({ mode: 'hybrid', results: [] })),
    readDocument: vi.fn(() => Promise.resolve({})),
  };
  return { handler: new GroundingHandler(grounding as unknown as GroundingService), grounding };
}

const valid = () => ({
  caller: { workspaceId: UUID, userId: UUID, apiKeyId: null, permissions: ['knowledge-base.read'] },
  knowledgeBaseIds: [KB, KB],
  queries: [`  ${'q'.repeat(2_500)}  `],
  limit: 6,
});

describe('GroundingHandler', () => {
  it('passes a well-formed request on, without repeated ids and with queries cut to the search limit', async () => {
    const { handler: h, grounding } = handler();
    await h.retrieve(valid());
    expect(grounding.retrieve).toHaveBeenCalledWith({ ...valid(), knowledgeBaseIds: [KB], queries: ['q'.repeat(2_000)] });
  });

  it.each<[string, (request: ReturnType<typeof valid>) => unknown]>([
    ['not an object', () => 'retrieve'],
    ['a workspace that is not a UUID', (r) => ({ ...r, caller: { ...r.caller, workspaceId: "x' OR 1=1" } })],
    ['permissions that are not strings', (r) => ({ ...r, caller: { ...r.caller, permissions: [1] } })],
    ['too many knowledge bases', (r) => ({ ...r, knowledgeBaseIds: Array.from({ length: 9 }, (_, i) => UUID.replace('1', String(i))) })],
    ['no query', (r) => ({ ...r, queries: [] })],
    ['a blank query', (r) => ({ ...r, queries: ['  '] })],
    ['a limit out of range', (r) => ({ ...r, limit: 21 })],
  ])('refuses %s with VALIDATION_FAILED', async (_, mutate) => {
    const { handler: h, grounding } = handler();
    await expect(Promise.resolve().then(() => h.retrieve(mutate(valid())))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(grounding.retrieve).not.toHaveBeenCalled();
  });

  it('checks knowledge base ids the same way', async () => {
    const { handler: h, grounding } = handler();
    await h.requireKnowledgeBases({ workspaceId: UUID, knowledgeBaseIds: [KB] });
    expect(grounding.requireKnowledgeBases).toHaveBeenCalledWith({ workspaceId: UUID, knowledgeBaseIds: [KB] });
    await expect(
      Promise.resolve().then(() => h.requireKnowledgeBases({ workspaceId: UUID, knowledgeBaseIds: ['nope'] })),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});

const caller = { workspaceId: UUID, userId: UUID, apiKeyId: null, permissions: ['knowledge-base.read'] };
const validSearch = () => ({
  caller,
  knowledgeBaseId: KB,
  query: ` ${'q'.repeat(2_500)} `,
  mode: 'vector',
  limit: 5,
  documentIds: [UUID, UUID],
});
const validRead = () => ({ caller, knowledgeBaseIds: [KB, KB], documentId: UUID, formats: ['csv', 'json', 'csv'], maxBytes: 1024 });

describe("GroundingHandler: one knowledge base searched, a document read (the agents' tools)", () => {
  it('passes a well-formed search on, the query cut and the documents without repeats', async () => {
    const { handler: h, grounding } = handler();
    await h.search(validSearch());
    expect(grounding.search).toHaveBeenCalledWith({ ...validSearch(), query: 'q'.repeat(2_000), documentIds: [UUID] });
  });

  it.each<[string, (request: ReturnType<typeof validSearch>) => unknown]>([
    ['not an object', () => null],
    ['a knowledge base that is not a UUID', (r) => ({ ...r, knowledgeBaseId: '../other' })],
    ['a blank query', (r) => ({ ...r, query: ' ' })],
    ['an unknown mode', (r) => ({ ...r, mode: 'semantic' })],
    ['a limit out of range', (r) => ({ ...r, limit: 51 })],
    ['documents that are not UUIDs', (r) => ({ ...r, documentIds: ['1 OR 1=1'] })],
    ['too many documents', (r) => ({ ...r, documentIds: Array.from({ length: 101 }, () => UUID) })],
    ['a caller without permissions', (r) => ({ ...r, caller: { ...r.caller, permissions: 'all' } })],
  ])('refuses a search with %s (VALIDATION_FAILED)', async (_, mutate) => {
    const { handler: h, grounding } = handler();
    await expect(Promise.resolve().then(() => h.search(mutate(validSearch())))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(grounding.search).not.toHaveBeenCalled();
  });

  it('passes a well-formed read on, without repeats', async () => {
    const { handler: h, grounding } = handler();
    await h.readDocument(validRead());
    expect(grounding.readDocument).toHaveBeenCalledWith({ ...validRead(), knowledgeBaseIds: [KB], formats: ['csv', 'json'] });
  });

  it.each<[string, (request: ReturnType<typeof validRead>) => unknown]>([
    ['a document that is not a UUID', (r) => ({ ...r, documentId: '../../etc/passwd' })],
    ['an unknown format', (r) => ({ ...r, formats: ['exe'] })],
    ['a size over the transport limit', (r) => ({ ...r, maxBytes: 6 * 1024 * 1024 })],
    ['a negative size', (r) => ({ ...r, maxBytes: -1 })],
    [
      'more than 20 knowledge bases',
      (r) => ({ ...r, knowledgeBaseIds: Array.from({ length: 21 }, (_, i) => UUID.replace('1', String(i % 10))) }),
    ],
  ])('refuses a read with %s (VALIDATION_FAILED)', async (_, mutate) => {
    const { handler: h, grounding } = handler();
    await expect(Promise.resolve().then(() => h.readDocument(mutate(validRead())))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(grounding.readDocument).not.toHaveBeenCalled();
  });
});
