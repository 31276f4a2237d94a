import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorRecord, VectorStore } from 'src/modules/rag/rag.contracts';
import { RagErrorCode } from 'src/modules/rag/rag.exception';

export interface VectorStoreUnderTest {
  store: VectorStore;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** Why the suite cannot run here (a server it needs is not configured); it is then reported as skipped. */
  skip?: string;
}

const cosine = (a: number[], b: number[]) => {
  const dot = a.reduce((sum, value, i) => sum + value * b[i], 0);
  return dot / (Math.hypot(...a) * Math.hypot(...b));
};

/** Deterministic pseudo-random vectors, so a failure reproduces. */
function seededVectors(count: number, dimension: number, seed: number): number[][] {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648 - 0.5;
  };
  return Array.from({ length: count }, () => Array.from({ length: dimension }, next));
}

/**
 * What every VectorStore must do, run against each implementation (pgvector, Qdrant). Each
 * test works in knowledge bases and workspaces of its own, so stores may be shared.
 */
export function describeVectorStoreContract(name: string, open: () => Promise<VectorStoreUnderTest>, options: ContractOptions = {}): void {
  const title = options.skip ? `${name} (skipped: ${options.skip})` : name;
  describe.skipIf(Boolean(options.skip))(`VectorStore contract: ${title}`, () => {
    let subject: VectorStoreUnderTest;
    let store: VectorStore;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });

    afterAll(async () => {
      await subject?.close();
    });

    const newScope = () => ({ workspaceId: randomUUID(), knowledgeBaseId: randomUUID() });
    const recordsFor = (scope: { workspaceId: string; knowledgeBaseId: string }, documentId: string, vectors: number[][], from = 0) =>
      vectors.map<VectorRecord>((vector, i) => ({ id: `${documentId}:${from + i}`, ...scope, documentId, vector }));

    it('keeps one copy per id however often the same records are upserted, with the latest vector', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      await store.upsert(
        recordsFor(scope, documentId, [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
        3,
      );
      await store.upsert(
        recordsFor(scope, documentId, [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
        3,
      );
      await store.upsert(recordsFor(scope, documentId, [[0, 0, 1]], 1), 3);
      expect(await store.listIds(scope, documentId)).toEqual([`${documentId}:0`, `${documentId}:1`, `${documentId}:2`]);
      const hits = await store.search({ ...scope, vector: [0, 0, 1], limit: 10 });
      expect(hits).toHaveLength(3);
      // id 1 was overwritten with [0,0,1]: it now ties with id 2 at the top.
      expect(
        hits
          .slice(0, 2)
          .map((hit) => hit.id)
          .sort(),
      ).toEqual([`${documentId}:1`, `${documentId}:2`]);
      expect(hits[0].score).toBeCloseTo(1, 4);
    });

    it('ranks by cosine similarity (not dot product) and reports it as the score', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      const vectors = [
        [-1, 0.2, 0],
        [0, 3, 0],
        [10, 10, 0],
        [0.5, 0.05, 0],
      ];
      await store.upsert(recordsFor(scope, documentId, vectors), 3);
      const query = [2, 0, 0];
      const hits = await store.search({ ...scope, vector: query, limit: 4 });
      expect(hits.map((hit) => hit.id)).toEqual([3, 2, 1, 0].map((i) => `${documentId}:${i}`));
      hits.forEach((hit, rank) => {
        expect(hit.documentId).toBe(documentId);
        expect(hit.score).toBeCloseTo(cosine(query, vectors[[3, 2, 1, 0][rank]]), 4);
      });
    });

    it('returns the true nearest neighbours, at most `limit` of them', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      const vectors = seededVectors(60, 8, 7);
      await store.upsert(recordsFor(scope, documentId, vectors), 8);
      const [query] = seededVectors(1, 8, 99);
      const exact = vectors
        .map((vector, i) => ({ id: `${documentId}:${i}`, score: cosine(query, vector) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 10);
      const hits = await store.search({ ...scope, vector: query, limit: 10 });
      expect(hits.map((hit) => hit.id)).toEqual(exact.map((hit) => hit.id));
    });

    it("never returns another workspace's or another knowledge base's vectors", async () => {
      const mine = newScope();
      const otherKnowledgeBase = { workspaceId: mine.workspaceId, knowledgeBaseId: randomUUID() };
      const otherWorkspace = newScope();
      const [myDocument, theirDocument, siblingDocument] = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsert(recordsFor(mine, myDocument, [[1, 0, 0]]), 3);
      await store.upsert(
        recordsFor(otherWorkspace, theirDocument, [
          [1, 0, 0],
          [0.9, 0.1, 0],
        ]),
        3,
      );
      await store.upsert(recordsFor(otherKnowledgeBase, siblingDocument, [[1, 0, 0]]), 3);

      const hits = await store.search({ ...mine, vector: [1, 0, 0], limit: 10 });
      expect(hits.map((hit) => hit.documentId)).toEqual([myDocument]);
      // Another workspace's knowledge base id under my workspace id finds nothing, and vice versa.
      expect(
        await store.search({
          workspaceId: mine.workspaceId,
          knowledgeBaseId: otherWorkspace.knowledgeBaseId,
          vector: [1, 0, 0],
          limit: 10,
        }),
      ).toEqual([]);
      expect(
        await store.search({
          workspaceId: otherWorkspace.workspaceId,
          knowledgeBaseId: mine.knowledgeBaseId,
          vector: [1, 0, 0],
          limit: 10,
        }),
      ).toEqual([]);
      expect(
        await store.listIds({ workspaceId: mine.workspaceId, knowledgeBaseId: otherWorkspace.knowledgeBaseId }, theirDocument),
      ).toEqual([]);
    });

    it('refuses to move an id stored for another knowledge base, leaving the original untouched', async () => {
      const owner = newScope();
      const intruder = newScope();
      const documentId = randomUUID();
      await store.upsert(recordsFor(owner, documentId, [[1, 0, 0]]), 3);
      await expect(store.upsert(recordsFor(intruder, documentId, [[0, 1, 0]]), 3)).rejects.toMatchObject({
        code: RagErrorCode.VectorIdConflict,
      });
      const hits = await store.search({ ...owner, vector: [1, 0, 0], limit: 1 });
      expect(hits).toEqual([expect.objectContaining({ id: `${documentId}:0` })]);
      expect(hits[0].score).toBeCloseTo(1, 4);
      expect(await store.search({ ...intruder, vector: [1, 0, 0], limit: 1 })).toEqual([]);
    });

    it('filters by document ids', async () => {
      const scope = newScope();
      const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsert(
        [
          ...recordsFor(scope, first, [[1, 0, 0]]),
          ...recordsFor(scope, second, [[0.9, 0.1, 0]]),
          ...recordsFor(scope, third, [[0.8, 0.2, 0]]),
        ],
        3,
      );
      const hits = await store.search({ ...scope, vector: [1, 0, 0], limit: 10, documentIds: [second, third] });
      expect(hits.map((hit) => hit.documentId)).toEqual([second, third]);
      expect(await store.search({ ...scope, vector: [1, 0, 0], limit: 10, documentIds: [randomUUID()] })).toEqual([]);
      expect(await store.search({ ...scope, vector: [1, 0, 0], limit: 10, documentIds: [] })).toEqual([]);
    });

    it('deletes one document, only in its own knowledge base', async () => {
      const scope = newScope();
      const [kept, removed] = [randomUUID(), randomUUID()];
      await store.upsert(
        [
          ...recordsFor(scope, kept, [
            [1, 0, 0],
            [0, 1, 0],
          ]),
          ...recordsFor(scope, removed, [
            [1, 0, 0],
            [0, 0, 1],
          ]),
        ],
        3,
      );
      // The right document id under the wrong scope deletes nothing.
      await store.deleteDocument(newScope(), removed);
      expect(await store.listIds(scope, removed)).toHaveLength(2);
      await store.deleteDocument(scope, removed);
      expect(await store.listIds(scope, removed)).toEqual([]);
      expect(await store.listIds(scope, kept)).toEqual([`${kept}:0`, `${kept}:1`]);
      const hits = await store.search({ ...scope, vector: [1, 0, 0], limit: 10 });
      expect(new Set(hits.map((hit) => hit.documentId))).toEqual(new Set([kept]));
    });

    it('deletes a whole knowledge base, across dimensions, and nothing else', async () => {
      const scope = newScope();
      const neighbour = { workspaceId: scope.workspaceId, knowledgeBaseId: randomUUID() };
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsert(recordsFor(scope, a, [[1, 0, 0]]), 3);
      await store.upsert(recordsFor(scope, b, [[1, 0, 0, 0]]), 4);
      await store.upsert(recordsFor(neighbour, c, [[1, 0, 0]]), 3);
      await store.deleteKnowledgeBase(scope);
      expect(await store.listIds(scope, a)).toEqual([]);
      expect(await store.listIds(scope, b)).toEqual([]);
      expect(await store.search({ ...scope, vector: [1, 0, 0], limit: 10 })).toEqual([]);
      expect(await store.listIds(neighbour, c)).toEqual([`${c}:0`]);
    });

    it('keeps one vector per id when a document is re-embedded at another dimension', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      await store.upsert(
        recordsFor(scope, documentId, [
          [1, 0, 0],
          [0, 1, 0],
        ]),
        3,
      );
      await store.upsert(
        recordsFor(scope, documentId, [
          [0, 0, 0, 1],
          [0, 0, 1, 0],
        ]),
        4,
      );
      expect(await store.listIds(scope, documentId)).toEqual([`${documentId}:0`, `${documentId}:1`]);
      const hits = await store.search({ ...scope, vector: [0, 0, 0, 1], limit: 10 });
      expect(hits.map((hit) => hit.id)).toEqual([`${documentId}:0`, `${documentId}:1`]);
    });

    it('refuses vectors of the wrong dimension with a clear error', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      const wrongRecord = store.upsert(recordsFor(scope, documentId, [[1, 0, 0, 0]]), 3);
      await expect(wrongRecord).rejects.toMatchObject({ code: RagErrorCode.VectorDimensionMismatch });
      await expect(wrongRecord).rejects.toThrow('has 4 dimensions; expected 3');
      await store.upsert(recordsFor(scope, documentId, [[1, 0, 0]]), 3);
      // A knowledge base indexed at 3 dimensions searched with a 5-dimensional query.
      const wrongQuery = store.search({ ...scope, vector: [1, 0, 0, 0, 0], limit: 5 });
      await expect(wrongQuery).rejects.toMatchObject({ code: RagErrorCode.VectorDimensionMismatch });
      await expect(wrongQuery).rejects.toThrow('this knowledge base holds 3-dimensional vectors; the query vector has 5 dimensions');
    });

    it('refuses malformed vectors, ids and limits before touching the store', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      const invalid = { code: RagErrorCode.InvalidVectorInput };
      await expect(store.upsert(recordsFor(scope, documentId, [[0, 0, 0]]), 3)).rejects.toMatchObject(invalid);
      await expect(store.upsert(recordsFor(scope, documentId, [[Number.NaN, 1, 0]]), 3)).rejects.toMatchObject(invalid);
      await expect(store.upsert(recordsFor({ ...scope, workspaceId: 'not-a-uuid' }, documentId, [[1, 0, 0]]), 3)).rejects.toMatchObject(
        invalid,
      );
      await expect(
        store.upsert([...recordsFor(scope, documentId, [[1, 0, 0]]), ...recordsFor(scope, documentId, [[0, 1, 0]])], 3),
      ).rejects.toMatchObject(invalid);
      await expect(store.upsert(recordsFor(scope, documentId, [[1, 0, 0]]), 0)).rejects.toMatchObject({
        code: RagErrorCode.VectorDimensionUnsupported,
      });
      await expect(store.search({ ...scope, vector: [1, 0, 0], limit: 0 })).rejects.toMatchObject(invalid);
      await expect(store.search({ ...scope, vector: [1, 0, 0], limit: 10, documentIds: ["' OR 1=1 --"] })).rejects.toMatchObject(invalid);
      await expect(store.listIds({ ...scope, knowledgeBaseId: 'x' }, documentId)).rejects.toMatchObject(invalid);
      expect(await store.listIds(scope, documentId)).toEqual([]);
    });
  });
}
