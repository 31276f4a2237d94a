import { describe, expect, it, vi } from 'vitest';
import { GroundingHandler } from 'src/modules/rag/grounding/grounding.handler';
import type { GroundingService } from 'src/modules/rag/grounding/grounding.service';

const UUID = '11111111-1111-4111-8111-111111111111';
const KB = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

function handler() {
  const grounding = {
    retrieve: vi.fn(() => Promise.resolve({ sources: [], knowledgeBases: [] })),
    requireKnowledgeBases: vi.fn((check: unknown) => Promise.resolve(check)),
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
