import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { QdrantStore, qdrantPointId } from 'src/modules/rag/vector-stores/qdrant.store';
import { describeVectorStoreContract } from 'src/modules/rag/vector-stores/vector-store.contract';

// Qdrant cannot be installed on the development machines; CI runs it as a service container.
const QDRANT_URL = process.env.QDRANT_URL;

describeVectorStoreContract(
  'Qdrant',
  async () => {
    // A prefix of its own per run, so parallel runs sharing one server never see each other's collections.
    const store = await QdrantStore.open({
      url: QDRANT_URL!,
      apiKey: process.env.QDRANT_API_KEY,
      collectionPrefix: `test_${randomBytes(4).toString('hex')}`,
    });
    await store.connect();
    return { store, close: () => store.dropCollections() };
  },
  { skip: QDRANT_URL ? undefined : 'QDRANT_URL is not set; set it to a Qdrant server (e.g. http://127.0.0.1:6333) to run these' },
);

describe('Qdrant point ids', () => {
  it('are stable UUIDs (v5 layout) derived from the record id, distinct per id', () => {
    const id = qdrantPointId('3f1e2d4c-0000-4000-8000-000000000001:0');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(qdrantPointId('3f1e2d4c-0000-4000-8000-000000000001:0')).toBe(id);
    expect(qdrantPointId('3f1e2d4c-0000-4000-8000-000000000001:1')).not.toBe(id);
  });
});
