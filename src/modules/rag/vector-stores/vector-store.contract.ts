import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredVectorRef, VectorRecord, VectorStore } from 'src/modules/rag/rag.contracts';
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

    /** Every vector of a scope, walking pages of `limit`. */
    const walk = async (scope: { workspaceId: string; knowledgeBaseId: string }, limit: number) => {
      const seen: StoredVectorRef[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.listKnowledgeBaseVectors(scope, { cursor, limit });
        expect(page.vectors.length).toBeLessThanOrEqual(limit);
        seen.push(...page.vectors);
        cursor = page.cursor;
        pages += 1;
        expect(pages).toBeLessThan(100);
      } while (cursor !== null);
      return seen;
    };
    const byId = (a: StoredVectorRef, b: StoredVectorRef) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.dimension - b.dimension);

    it("walks a knowledge base's vectors page by page, each exactly once, at every dimension, and nothing of another scope", async () => {
      const scope = newScope();
      const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      await store.upsert(recordsFor(scope, a, seededVectors(5, 3, 1)), 3);
      await store.upsert(recordsFor(scope, b, seededVectors(3, 4, 2)), 4);
      // The same knowledge base id under another workspace, and a sibling knowledge base: never listed.
      await store.upsert(recordsFor({ workspaceId: randomUUID(), knowledgeBaseId: scope.knowledgeBaseId }, c, seededVectors(2, 3, 3)), 3);
      await store.upsert(recordsFor({ workspaceId: scope.workspaceId, knowledgeBaseId: randomUUID() }, d, seededVectors(2, 4, 4)), 4);
      const expected = [
        ...[0, 1, 2, 3, 4].map((i) => ({ id: `${a}:${i}`, documentId: a, dimension: 3 })),
        ...[0, 1, 2].map((i) => ({ id: `${b}:${i}`, documentId: b, dimension: 4 })),
      ].sort(byId);
      for (const limit of [1, 2, 3, 8, 1000]) {
        const listed = await walk(scope, limit);
        expect(listed).toHaveLength(expected.length);
        expect([...listed].sort(byId)).toEqual(expected);
      }
      const single = await store.listKnowledgeBaseVectors(scope, { limit: 1000 });
      expect(single.cursor).toBeNull();
      expect(await store.listKnowledgeBaseVectors(newScope(), { limit: 10 })).toEqual({ vectors: [], cursor: null });
    });

    it('keeps a walk complete when vectors already listed are deleted between pages', async () => {
      const scope = newScope();
      const documentId = randomUUID();
      await store.upsert(recordsFor(scope, documentId, seededVectors(7, 3, 5)), 3);
      const first = await store.listKnowledgeBaseVectors(scope, { limit: 3 });
      expect(first.vectors).toHaveLength(3);
      await store.deleteIds(
        scope,
        first.vectors.map((vector) => vector.id),
      );
      const rest: StoredVectorRef[] = [];
      let cursor = first.cursor;
      while (cursor !== null) {
        const page = await store.listKnowledgeBaseVectors(scope, { cursor, limit: 3 });
        rest.push(...page.vectors);
        cursor = page.cursor;
      }
      const all = [0, 1, 2, 3, 4, 5, 6].map((i) => `${documentId}:${i}`);
      const listedFirst = new Set(first.vectors.map((vector) => vector.id));
      expect(rest.map((vector) => vector.id).sort()).toEqual(all.filter((id) => !listedFirst.has(id)));
    });

    it('finds which ids a knowledge base holds, at which dimension, ignoring unknown and foreign ids', async () => {
      const scope = newScope();
      const other = newScope();
      const [a, b, foreign] = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsert(recordsFor(scope, a, seededVectors(2, 3, 6)), 3);
      await store.upsert(recordsFor(scope, b, seededVectors(1, 5, 7)), 5);
      await store.upsert(recordsFor(other, foreign, seededVectors(1, 3, 8)), 3);
      const found = await store.findVectors(scope, [`${b}:0`, `${a}:1`, `${a}:9`, `${foreign}:0`, 'not-a-chunk-id']);
      expect(found).toEqual(
        [
          { id: `${a}:1`, documentId: a, dimension: 3 },
          { id: `${b}:0`, documentId: b, dimension: 5 },
        ].sort(byId),
      );
      expect(await store.findVectors(scope, [])).toEqual([]);
      expect(await store.findVectors(other, [`${a}:0`])).toEqual([]);
    });

    it('deletes by id within its knowledge base only, at every dimension', async () => {
      const scope = newScope();
      const other = newScope();
      const [a, b, theirs] = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsert(recordsFor(scope, a, seededVectors(3, 3, 9)), 3);
      await store.upsert(recordsFor(scope, b, seededVectors(2, 4, 10)), 4);
      await store.upsert(recordsFor(other, theirs, seededVectors(1, 3, 11)), 3);
      // The right ids under the wrong scope delete nothing.
      await store.deleteIds(other, [`${a}:0`, `${b}:0`]);
      expect(await store.listIds(scope, a)).toHaveLength(3);
      await store.deleteIds(scope, [`${a}:0`, `${b}:1`, `${theirs}:0`, `${a}:42`]);
      expect(await store.listIds(scope, a)).toEqual([`${a}:1`, `${a}:2`]);
      expect(await store.listIds(scope, b)).toEqual([`${b}:0`]);
      expect(await store.listIds(other, theirs)).toEqual([`${theirs}:0`]);
      await store.deleteIds(scope, []);
    });

    it('lists the (workspace, knowledge base) pairs that hold vectors, including those with no other trace', async () => {
      const kept = newScope();
      const emptied = newScope();
      const sibling = { workspaceId: kept.workspaceId, knowledgeBaseId: randomUUID() };
      // Several vectors in one table: the scope is still listed once.
      await store.upsert(recordsFor(kept, randomUUID(), seededVectors(3, 3, 12)), 3);
      await store.upsert(recordsFor(sibling, randomUUID(), seededVectors(1, 6, 13)), 6);
      await store.upsert(recordsFor(emptied, randomUUID(), seededVectors(1, 3, 14)), 3);
      await store.deleteKnowledgeBase(emptied);
      const scopes = await store.listKnowledgeBaseScopes();
      expect(scopes).toContainEqual(kept);
      expect(scopes).toContainEqual(sibling);
      expect(scopes).not.toContainEqual(emptied);
      expect(new Set(scopes.map((scope) => `${scope.workspaceId}/${scope.knowledgeBaseId}`)).size).toBe(scopes.length);
    });

    it('refuses malformed pages, cursors and id lists', async () => {
      const scope = newScope();
      const invalid = { code: RagErrorCode.InvalidVectorInput };
      await expect(store.listKnowledgeBaseVectors(scope, { limit: 0 })).rejects.toMatchObject(invalid);
      await expect(store.listKnowledgeBaseVectors(scope, { limit: 1001 })).rejects.toMatchObject(invalid);
      await expect(store.listKnowledgeBaseVectors(scope, { limit: 10, cursor: 'bm90IGEgY3Vyc29y' })).rejects.toMatchObject(invalid);
      await expect(store.listKnowledgeBaseVectors(scope, { limit: 10, cursor: '%%%' })).rejects.toMatchObject(invalid);
      await expect(store.listKnowledgeBaseVectors({ ...scope, workspaceId: 'nope' }, { limit: 10 })).rejects.toMatchObject(invalid);
      const tooMany = Array.from({ length: 1001 }, (_, i) => `x:${i}`);
      await expect(store.findVectors(scope, tooMany)).rejects.toMatchObject(invalid);
      await expect(store.deleteIds(scope, tooMany)).rejects.toMatchObject(invalid);
      await expect(store.deleteIds(scope, [''])).rejects.toMatchObject(invalid);
      await expect(store.deleteIds({ ...scope, knowledgeBaseId: "' OR 1=1 --" }, ['a:0'])).rejects.toMatchObject(invalid);
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
