import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { makePdf } from 'test/support/rag-documents';
import { S3RVER_CREDENTIALS, startS3Server, TestS3Server } from 'test/support/s3-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const PREFIX = 'gremlins/e2e';
const MAX_UPLOAD = 256 * 1024;

/**
 * The app with OBJECT_STORE=s3 against a real S3 API (s3rver): uploads stream into the
 * bucket under keys made of ids, ingestion reads them back, re-ingestion reads them again,
 * and deleting a document or a knowledge base removes its files.
 */
describe('RAG with the S3 object store', { timeout: 90_000 }, () => {
  let s3: TestS3Server;
  let client: S3Client;
  let testApp: TestApp;
  let api: ApiClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let kbId: string;
  let pdf: Buffer;

  const keys = async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    return (page.Contents ?? []).map((object) => object.Key!).sort();
  };
  const objectBytes = async (key: string) => {
    const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  };
  const keyOf = (documentId: string, knowledgeBaseId = kbId) =>
    `${PREFIX}/workspaces/${owner.workspaceId}/kb/${knowledgeBaseId}/${documentId}`;

  async function upload(knowledgeBaseId: string, bytes: Buffer | string, name: string, type = 'application/pdf') {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type }), name);
    const response = await fetch(`${testApp.baseUrl}/api/v1/knowledge-bases/${knowledgeBaseId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.accessToken}` },
      body: form,
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  async function settled(documentId: string, knowledgeBaseId = kbId): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body } = await api.get(`/api/v1/knowledge-bases/${knowledgeBaseId}/documents/${documentId}`, { token: owner.accessToken });
      if (body.status === 'indexed' || body.status === 'failed') return body;
      if (Date.now() > deadline) throw new Error(`document ${documentId} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    s3 = await startS3Server('gremlins-e2e');
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    testApp = await startTestApp({ env: { ...s3.env(PREFIX), RAG_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) } });
    api = new ApiClient(testApp.baseUrl);
    owner = await api.register('owner@example.com');
    kbId = (await api.post('/api/v1/knowledge-bases', { name: 'Bucketed' }, { token: owner.accessToken })).body.id;
    pdf = await makePdf([
      { heading: 'Volcanoes', paragraphs: ['A volcano erupts when molten magma rises through cracks in the crust.'] },
      { heading: 'Glaciers', paragraphs: ['Glaciers carve valleys as compacted snow flows slowly downhill under its own weight.'] },
    ]);
  });
  afterAll(async () => {
    await testApp?.close();
    client?.destroy();
    await s3?.close();
  });

  let documentId: string;

  it('streams an upload into the bucket under a key made of ids only, never the file name', async () => {
    const uploaded = await upload(kbId, pdf, '../../../etc/passwd.pdf');
    expect(uploaded.status).toBe(201);
    documentId = uploaded.body.id;
    expect(uploaded.body.name).toBe('../../../etc/passwd.pdf');
    expect(await keys()).toEqual([keyOf(documentId)]);
    expect((await objectBytes(keyOf(documentId))).equals(pdf)).toBe(true);
    // Nothing went to the local folder.
    const localObjects = join(testApp.dataDir, 'objects');
    expect(existsSync(localObjects) ? readdirSync(localObjects) : []).toEqual([]);
  });

  it('ingests the document from the bucket, with its pages', async () => {
    expect(await settled(documentId)).toMatchObject({ status: 'indexed', pageCount: 2 });
    const search = await api.post(
      `/api/v1/knowledge-bases/${kbId}/search`,
      { query: 'magma cracks', mode: 'keyword' },
      { token: owner.accessToken },
    );
    expect(search.status).toBe(200);
    expect(search.body.results[0]).toMatchObject({ documentId, page: 1 });
  });

  it('keeps one object for the same bytes uploaded again, and none for a refused upload', async () => {
    const again = await upload(kbId, pdf, 'copy.pdf');
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(documentId);
    const tooLarge = await upload(kbId, Buffer.alloc(MAX_UPLOAD + 1, 'a'), 'big.txt', 'text/plain');
    expect(tooLarge.status).toBe(413);
    const unsupported = await upload(
      kbId,
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]),
      'image.png',
      'image/png',
    );
    expect(unsupported.status).toBe(415);
    expect(await keys()).toEqual([keyOf(documentId)]);
  });

  it('re-ingests from the stored object', async () => {
    const reingest = await api.post(`/api/v1/knowledge-bases/${kbId}/documents/${documentId}/reingest`, undefined, {
      token: owner.accessToken,
    });
    expect(reingest.status).toBe(202);
    expect(await settled(documentId)).toMatchObject({ status: 'indexed', pageCount: 2 });
  });

  it('fails a document whose object vanished from the bucket at once, saying so, without retrying', async () => {
    const other = await upload(kbId, 'Orchards need pruning in late winter.', 'orchard.txt', 'text/plain');
    expect(other.status).toBe(201);
    await settled(other.body.id);
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: keyOf(other.body.id) }));
    await api.post(`/api/v1/knowledge-bases/${kbId}/documents/${other.body.id}/reingest`, undefined, { token: owner.accessToken });
    expect(await settled(other.body.id)).toMatchObject({ status: 'failed', errorCode: 'RAG_STORED_FILE_MISSING' });
    expect((await api.delete(`/api/v1/knowledge-bases/${kbId}/documents/${other.body.id}`, { token: owner.accessToken })).status).toBe(204);
  });

  it('deletes the object with its document, and every object with its knowledge base', async () => {
    expect((await api.delete(`/api/v1/knowledge-bases/${kbId}/documents/${documentId}`, { token: owner.accessToken })).status).toBe(204);
    expect(await keys()).toEqual([]);

    const second = (await api.post('/api/v1/knowledge-bases', { name: 'Second' }, { token: owner.accessToken })).body.id as string;
    const a = await upload(second, 'Lighthouses guide ships along the coast.', 'a.txt', 'text/plain');
    const b = await upload(second, 'Foundries cast iron into moulds.', 'b.txt', 'text/plain');
    await settled(a.body.id, second);
    await settled(b.body.id, second);
    expect(await keys()).toEqual([keyOf(a.body.id, second), keyOf(b.body.id, second)].sort());
    expect((await api.delete(`/api/v1/knowledge-bases/${second}`, { token: owner.accessToken })).status).toBe(204);
    expect(await keys()).toEqual([]);
  });
});
