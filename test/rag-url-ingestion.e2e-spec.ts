import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, RequestListener, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

const MAX_UPLOAD = 64 * 1024;

const HTML_PAGE = `<!doctype html><html><head><title>Lighthouses</title><script>alert("never indexed")</script></head>
<body><h1>Lighthouse keeping</h1><p>The keeper trimmed the wick and polished the Fresnel lens every evening before dusk.</p></body></html>`;
const MARKDOWN_PAGE =
  '# Beekeeping\n\nA healthy hive of honeybees produces surplus honey when the nectar flow is strong in early summer.\n';

const intranet: RequestListener = (request, response) => {
  switch (request.url) {
    case '/lighthouses.html':
      return void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML_PAGE);
    case '/latest/bees':
      return void response.writeHead(302, { location: '/notes/bees.md' }).end();
    case '/notes/bees.md':
      // A generic type: the extension of the final URL has to decide the format.
      return void response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(MARKDOWN_PAGE);
    case '/to-metadata':
      return void response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
    case '/huge.txt':
      return void response.writeHead(200, { 'content-type': 'text/plain' }).end('z'.repeat(MAX_UPLOAD + 1));
    case '/image.png':
      return void response.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff]));
    default:
      return void response.writeHead(404).end('not here');
  }
};

async function listen(): Promise<{ server: Server; origin: string }> {
  const server = createServer(intranet);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((entry) => statSync(join(root, entry)).isFile());
}

// Ingestion runs the CPU sentence encoder; on a loaded 2-core machine it can take a while.
describe('RAG: ingesting documents from a URL', { timeout: 90_000 }, () => {
  let testApp: TestApp;
  let api: ApiClient;
  let trusted: { server: Server; origin: string };
  let untrusted: { server: Server; origin: string };
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let outsider: Awaited<ReturnType<ApiClient['register']>>;
  let viewer: Awaited<ReturnType<ApiClient['register']>>;
  let teamId: string;
  let kbId: string;
  let htmlDocumentId: string;

  const as = (user: { accessToken: string }, workspaceId = teamId) => ({ token: user.accessToken, workspaceId });
  const fromUrl = (body: Record<string, unknown>, user = owner, workspaceId = teamId, knowledgeBaseId = kbId) =>
    api.post(`/api/v1/knowledge-bases/${knowledgeBaseId}/documents/from-url`, body, as(user, workspaceId));

  async function waitForIngestion(documentId: string): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const response = await api.get(`/api/v1/knowledge-bases/${kbId}/documents/${documentId}`, as(owner));
      expect(response.status).toBe(200);
      if (response.body.status === 'indexed' || response.body.status === 'failed') return response.body;
      if (Date.now() > deadline) throw new Error(`document ${documentId} still ${response.body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    [trusted, untrusted] = await Promise.all([listen(), listen()]);
    testApp = await startTestApp({ env: { RAG_MAX_UPLOAD_BYTES: String(MAX_UPLOAD), RAG_URL_ALLOWED_HOSTS: trusted.origin } });
    api = new ApiClient(testApp.baseUrl);
    owner = await api.register('owner@example.com');
    outsider = await api.register('outsider@example.com');
    viewer = await api.register('viewer@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
    kbId = (await api.post('/api/v1/knowledge-bases', { name: 'Intranet' }, as(owner))).body.id;
  });
  afterAll(async () => {
    await testApp?.close();
    await Promise.all([trusted, untrusted].map(({ server }) => new Promise((resolve) => server.close(resolve))));
  });

  it('fetches an HTML page from an allowed intranet host, indexes it and finds it', async () => {
    const url = `http://${trusted.origin}/lighthouses.html`;
    const created = await fromUrl({ url });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'lighthouses.html', format: 'html', sourceUrl: url, status: 'queued' });
    htmlDocumentId = created.body.id;
    expect(await waitForIngestion(htmlDocumentId)).toMatchObject({ status: 'indexed', errorCode: null });

    const found = await api.post(`/api/v1/knowledge-bases/${kbId}/search`, { query: 'Fresnel lens wick', mode: 'keyword' }, as(viewer));
    expect(found.status).toBe(200);
    expect(found.body.results[0]).toMatchObject({ documentId: htmlDocumentId });
    expect(found.body.results[0].text).toContain('Fresnel lens');
    expect(found.body.results.map((result: { text: string }) => result.text).join(' ')).not.toContain('never indexed');
  });

  it('follows a redirect, records where it ended and takes the format from its path', async () => {
    const created = await fromUrl({ url: `http://${trusted.origin}/latest/bees`, name: '  Bee notes  ' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Bee notes', format: 'markdown', sourceUrl: `http://${trusted.origin}/notes/bees.md` });
    expect(await waitForIngestion(created.body.id)).toMatchObject({ status: 'indexed' });
    const found = await api.post(`/api/v1/knowledge-bases/${kbId}/search`, { query: 'nectar honey', mode: 'keyword' }, as(owner));
    expect(found.body.results[0]).toMatchObject({ documentId: created.body.id });
  });

  it('gives back the existing document when the same bytes are fetched again', async () => {
    const files = filesUnder(join(testApp.dataDir, 'objects')).length;
    const again = await fromUrl({ url: `http://${trusted.origin}/lighthouses.html` });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(htmlDocumentId);
    expect(filesUnder(join(testApp.dataDir, 'objects'))).toHaveLength(files);
  });

  it('refuses a local host that is not on RAG_URL_ALLOWED_HOSTS, before fetching anything', async () => {
    const refused = await fromUrl({ url: `http://${untrusted.origin}/lighthouses.html` });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('URL_NOT_ALLOWED');
    expect(refused.body.message).toContain('loopback');
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://localhost/',
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_FLUSHALL',
  ])('refuses %s with URL_NOT_ALLOWED', async (url) => {
    const refused = await fromUrl({ url });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('URL_NOT_ALLOWED');
  });

  it('refuses a redirect from an allowed host to the cloud metadata address', async () => {
    const refused = await fromUrl({ url: `http://${trusted.origin}/to-metadata` });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'URL_NOT_ALLOWED' });
    expect(refused.body.message).toContain('link-local');
  });

  it('refuses a resource larger than RAG_MAX_UPLOAD_BYTES with 413 and keeps nothing', async () => {
    const before = filesUnder(join(testApp.dataDir, 'objects')).length;
    const refused = await fromUrl({ url: `http://${trusted.origin}/huge.txt` });
    expect(refused.status).toBe(413);
    expect(refused.body.code).toBe('URL_TOO_LARGE');
    expect(filesUnder(join(testApp.dataDir, 'objects'))).toHaveLength(before);
  });

  it('reports an error status of the source as 502 and an unsupported format as 415', async () => {
    const missing = await fromUrl({ url: `http://${trusted.origin}/nowhere` });
    expect(missing.status).toBe(502);
    expect(missing.body).toMatchObject({ code: 'URL_FETCH_FAILED' });
    const image = await fromUrl({ url: `http://${trusted.origin}/image.png` });
    expect(image.status).toBe(415);
    expect(image.body.code).toBe('RAG_UNSUPPORTED_FORMAT');
  });

  it.each([
    [{ url: 'not a url' }, 'URL_NOT_ALLOWED'],
    [{ url: '/relative/path.md' }, 'URL_NOT_ALLOWED'],
    [{ url: 'http://user:secret@example.com/' }, 'URL_NOT_ALLOWED'],
    [{}, 'VALIDATION_FAILED'],
    [{ url: 42 }, 'VALIDATION_FAILED'],
    [{ url: `http://example.com/${'a'.repeat(2048)}` }, 'VALIDATION_FAILED'],
    [{ url: 'http://example.com/', name: '' }, 'VALIDATION_FAILED'],
    [{ url: 'http://example.com/', extra: true }, 'VALIDATION_FAILED'],
  ])('refuses the malformed body %j with 400', async (body, code) => {
    const refused = await fromUrl(body);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(code);
  });

  it("answers 404 for another workspace's knowledge base, as for an unknown one, without fetching", async () => {
    const foreign = await fromUrl({ url: `http://${trusted.origin}/lighthouses.html` }, outsider, outsider.workspaceId);
    expect(foreign.status).toBe(404);
    const unknown = await fromUrl(
      { url: `http://${trusted.origin}/lighthouses.html` },
      outsider,
      outsider.workspaceId,
      '00000000-0000-4000-8000-000000000000',
    );
    expect(foreign.body).toEqual(unknown.body);
  });

  it('needs write access to the knowledge base', async () => {
    const denied = await fromUrl({ url: `http://${trusted.origin}/lighthouses.html` }, viewer);
    expect(denied.status).toBe(403);
  });
});
