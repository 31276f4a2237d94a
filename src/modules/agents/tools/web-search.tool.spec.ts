import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from 'src/config/app-config';
import type { AgentToolContext } from 'src/modules/agents/tools/agent-tool';
import { AgentToolException } from 'src/modules/agents/tools/agent-tool.exception';
import { createWebSearchProvider, SearxngProvider } from 'src/modules/agents/tools/web-search.provider';
import { WebSearchTool } from 'src/modules/agents/tools/web-search.tool';

const context = (): AgentToolContext => ({
  auth: {} as AgentToolContext['auth'],
  knowledgeBaseIds: [],
  signal: new AbortController().signal,
});

interface Recorded {
  path: string;
  query: URLSearchParams;
}

/** A local HTTP server answering with `handler`, recording every request. */
async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number; seen: Recorded[] }> {
  const seen: Recorded[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    seen.push({ path: url.pathname, query: url.searchParams });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const close = (server?: Server) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

describe('web_search tool', () => {
  let searx: Awaited<ReturnType<typeof startServer>>;
  let pages: Awaited<ReturnType<typeof startServer>>;
  let searxResults: unknown[] = [];
  let searxStatus = 200;
  let searxBody: string | undefined;
  const tempDirs: string[] = [];

  beforeAll(async () => {
    searx = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      if (url.pathname !== '/searx/search' || url.searchParams.get('format') !== 'json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(searxStatus, { 'content-type': 'application/json' });
      res.end(
        searxBody ?? JSON.stringify({ query: url.searchParams.get('q'), number_of_results: searxResults.length, results: searxResults }),
      );
    });
    pages = await startServer((req, res) => {
      if (req.url === '/article') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<html><head><style>body{}</style><script>alert(1)</script></head><body><nav>Menu</nav>' +
            '<h1>Volcanoes</h1><p>Magma rises through <a href="http://x">cracks</a> in the crust.</p></body></html>',
        );
      } else if (req.url === '/image') {
        res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(10));
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('internal secret');
      }
    });
  });
  afterAll(async () => {
    await Promise.all([close(searx?.server), close(pages?.server)]);
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    searxResults = [];
    searxStatus = 200;
    searxBody = undefined;
    searx.seen.length = 0;
    pages.seen.length = 0;
  });

  const provider = () => new SearxngProvider({ url: `http://127.0.0.1:${searx.port}/searx`, timeoutMs: 5_000 });
  /** `pages.test` stands for a public site: it resolves to the local page server and is the only name allowed there. */
  const tool = () =>
    new WebSearchTool(provider(), {
      pageTimeoutMs: 5_000,
      pageFetch: {
        allowedHosts: [`pages.test:${pages.port}`],
        resolve: (hostname) =>
          hostname.endsWith('.test')
            ? Promise.resolve([{ address: '127.0.0.1', family: 4 as const }])
            : Promise.reject(new Error('ENOTFOUND')),
      },
    });
  const run = (args: Record<string, unknown>, t = tool()) => t.run(t.argsSchema.parse(args), context());

  describe('configuration', () => {
    const config = (env: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), 'gremlins-websearch-'));
      tempDirs.push(dir);
      return loadConfig({ DATA_DIR: dir, ...env });
    };

    it('is off by default: no provider, and the tool says it is unavailable', async () => {
      expect(config({}).agentTools.webSearch).toBeNull();
      expect(createWebSearchProvider(null)).toBeNull();
      const off = new WebSearchTool(null);
      expect(off.isAvailable()).toBe(false);
      await expect(off.run(off.argsSchema.parse({ query: 'x' }), context())).rejects.toMatchObject({ code: 'AGENT_TOOL_UNAVAILABLE' });
    });

    it('turns on with AGENTS_WEB_SEARCH_PROVIDER=searxng and a URL', () => {
      const { webSearch } = config({ AGENTS_WEB_SEARCH_PROVIDER: 'searxng', AGENTS_WEB_SEARCH_URL: 'http://searxng:8080' }).agentTools;
      expect(webSearch).toEqual({ provider: 'searxng', url: 'http://searxng:8080', timeoutMs: 10_000 });
      expect(new WebSearchTool(createWebSearchProvider(webSearch)).isAvailable()).toBe(true);
      // A URL alone does not turn it on.
      expect(config({ AGENTS_WEB_SEARCH_URL: 'http://searxng:8080' }).agentTools.webSearch).toBeNull();
    });

    it('refuses searxng without a URL, or with credentials in it', () => {
      expect(() => config({ AGENTS_WEB_SEARCH_PROVIDER: 'searxng' })).toThrow(/AGENTS_WEB_SEARCH_URL.*needs the URL/);
      expect(() => config({ AGENTS_WEB_SEARCH_PROVIDER: 'searxng', AGENTS_WEB_SEARCH_URL: 'http://u:p@searxng' })).toThrow(/credentials/);
      expect(() => config({ AGENTS_WEB_SEARCH_PROVIDER: 'bing' })).toThrow(/AGENTS_WEB_SEARCH_PROVIDER/);
    });
  });

  it('queries the SearXNG JSON API and returns bounded results with their URLs', async () => {
    searxResults = [
      { url: 'https://example.org/a', title: 'First', content: 'Snippet   one\n\n\nmore', engine: 'ddg', publishedDate: '2026-01-02' },
      { url: 'javascript:alert(1)', title: 'Bad', content: 'dropped' },
      { url: 'https://example.org/b', title: 'T'.repeat(500), content: 'S'.repeat(2_000) },
      { url: 'https://example.org/c', title: 'Third', content: 'three' },
    ];
    const outcome = await run({ query: 'volcanoes', limit: 2, language: 'en', time_range: 'year' });
    expect(searx.seen).toHaveLength(1);
    expect(Object.fromEntries(searx.seen[0].query)).toEqual({
      q: 'volcanoes',
      format: 'json',
      pageno: '1',
      language: 'en',
      time_range: 'year',
    });
    const body = JSON.parse(outcome.content);
    expect(body.results.map((r: any) => r.url)).toEqual(['https://example.org/a', 'https://example.org/b']);
    expect(body.results[0]).toEqual({
      n: 1,
      title: 'First',
      url: 'https://example.org/a',
      snippet: 'Snippet one\n\nmore',
      publishedAt: '2026-01-02',
    });
    expect(body.results[1].title.length).toBeLessThanOrEqual(200);
    expect(body.results[1].snippet.length).toBeLessThanOrEqual(500);
    expect(body.results[1].snippet).toMatch(/truncated/);
    expect(body.pages).toBeUndefined();
  });

  it('fetches the text of the top pages when asked, without markup or scripts', async () => {
    searxResults = [
      { url: `http://pages.test:${pages.port}/article`, title: 'Article', content: 'about volcanoes' },
      { url: `http://pages.test:${pages.port}/image`, title: 'Image', content: 'a picture' },
      { url: 'https://example.org/never', title: 'Third', content: 'not fetched: beyond fetch_pages' },
    ];
    const body = JSON.parse((await run({ query: 'volcanoes', fetch_pages: 2 })).content);
    expect(body.pages).toHaveLength(2);
    expect(body.pages[0]).toMatchObject({ n: 1, url: `http://pages.test:${pages.port}/article` });
    expect(body.pages[0].text).toContain('VOLCANOES');
    expect(body.pages[0].text).toContain('Magma rises through cracks in the crust.');
    expect(body.pages[0].text).not.toMatch(/alert|Menu|http:\/\/x/);
    expect(body.pages[1]).toMatchObject({ n: 2, error: expect.stringMatching(/image\/png content is not text/) });
    expect(pages.seen.map((r) => r.path)).toEqual(['/article', '/image']);
  });

  it('does not fetch result pages on private addresses, the metadata service or the search host itself', async () => {
    searxResults = [
      { url: `http://127.0.0.1:${pages.port}/secret`, title: 'Loopback', content: '' },
      { url: `http://internal.test:${pages.port}/secret`, title: 'A name resolving to loopback', content: '' },
      { url: 'http://169.254.169.254/latest/meta-data/', title: 'Metadata', content: '' },
    ];
    const body = JSON.parse((await run({ query: 'secrets', fetch_pages: 3 })).content);
    expect(body.pages).toHaveLength(3);
    for (const page of body.pages) {
      expect(page.error).toMatch(/URL_NOT_ALLOWED/);
      expect(page.text).toBeUndefined();
    }
    expect(pages.seen).toHaveLength(0);

    // The provider's host may be private (an admin configured it) for the search itself only.
    searx.seen.length = 0;
    searxResults = [{ url: `http://127.0.0.1:${searx.port}/searx/search?q=x&format=json`, title: 'Search host', content: '' }];
    const again = JSON.parse((await run({ query: 'loop', fetch_pages: 1 })).content);
    expect(again.pages[0].error).toMatch(/URL_NOT_ALLOWED/);
    expect(searx.seen).toHaveLength(1);
  });

  it('refuses a provider host that is not the configured one when it is private', async () => {
    const other = new WebSearchTool(
      new SearxngProvider({ url: `http://localhost:${searx.port}/searx`, timeoutMs: 2_000 }, { allowedHosts: [] }),
    );
    const error = await other.run(other.argsSchema.parse({ query: 'x' }), context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentToolException);
    expect((error as AgentToolException).code).toBe('AGENT_TOOL_UPSTREAM_FAILED');
    expect((error as Error).message).toMatch(/this machine/);
  });

  it('reports a provider without the JSON format, or answering garbage, clearly', async () => {
    searxStatus = 403;
    await expect(run({ query: 'x' })).rejects.toMatchObject({
      code: 'AGENT_TOOL_UPSTREAM_FAILED',
      message: expect.stringMatching(/answered 403/),
    });
    searxStatus = 200;
    searxBody = '<html>not json</html>';
    await expect(run({ query: 'x' })).rejects.toMatchObject({ message: expect.stringMatching(/did not answer with JSON/) });
    searxBody = JSON.stringify({ results: 'nope' });
    await expect(run({ query: 'x' })).rejects.toMatchObject({ message: expect.stringMatching(/unexpected shape/) });
  });

  it('validates its arguments', () => {
    const schema = tool().argsSchema;
    expect(schema.safeParse({ query: 'x', fetch_pages: 4 }).success).toBe(false);
    expect(schema.safeParse({ query: 'x', limit: 11 }).success).toBe(false);
    expect(schema.safeParse({ query: '   ' }).success).toBe(false);
    expect(schema.safeParse({ query: 'x', language: 'english' }).success).toBe(false);
    expect(schema.safeParse({ query: 'x', url: 'http://x' }).success).toBe(false);
    expect(schema.parse({ query: ' x ' })).toEqual({ query: 'x', limit: 5, fetch_pages: 0 });
  });
});
