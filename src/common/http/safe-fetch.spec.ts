import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonPublicReason } from 'src/common/http/public-address';
import { normalizeHostPort, safeFetch, SafeFetchOptions, UrlFetchErrorCode, UrlFetchException } from 'src/common/http/safe-fetch';

async function failureOf(promise: Promise<unknown>): Promise<UrlFetchException> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UrlFetchException);
  return error as UrlFetchException;
}

describe('nonPublicReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved or broadcast'],
    ['::1', 'unspecified, loopback or IPv4-compatible'],
    ['::', 'unspecified, loopback or IPv4-compatible'],
    ['fd00:ec2::254', 'private'],
    ['fc00::1', 'private'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
    ['::ffff:7f00:1', 'loopback (IPv4-mapped)'],
    ['::ffff:a9fe:a9fe', 'link-local (IPv4-mapped)'],
    ['[::ffff:10.0.0.1]', 'private (IPv4-mapped)'],
  ])('refuses %s as %s', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'accepts public %s',
    (address) => {
      expect(nonPublicReason(address)).toBeNull();
    },
  );

  it('refuses anything that is not an IP literal', () => {
    expect(nonPublicReason('localhost')).toBe('not an IP address');
  });
});

describe('normalizeHostPort', () => {
  it('spells host:port the way URL parsing does', () => {
    expect(normalizeHostPort('Intranet.Example:8080')).toBe('intranet.example:8080');
    expect(normalizeHostPort('[::1]:80')).toBe('[::1]:80');
    expect(normalizeHostPort('2130706433:80')).toBe('127.0.0.1:80');
  });

  it('refuses entries without a port or with more than host:port', () => {
    expect(normalizeHostPort('intranet.example')).toBeNull();
    expect(normalizeHostPort('user@intranet.example:80')).toBeNull();
    expect(normalizeHostPort('intranet.example:80/path')).toBeNull();
  });
});

describe('safeFetch', () => {
  let server: Server;
  let port: number;
  let allowed: string;
  let base: string;
  const routes = new Map<string, (response: ServerResponse) => void>();
  const options = (overrides: Partial<SafeFetchOptions> = {}): SafeFetchOptions => ({
    maxBytes: 1024,
    timeoutMs: 2_000,
    allowedHosts: [allowed],
    ...overrides,
  });

  beforeAll(async () => {
    server = createServer((request, response) => {
      const route = routes.get(request.url ?? '');
      if (route) route(response);
      else response.writeHead(404).end('missing');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    allowed = `127.0.0.1:${port}`;
    base = `http://${allowed}`;
    routes.set('/page.md', (response) => response.writeHead(200, { 'content-type': 'text/markdown' }).end('# Title\n\nBody'));
    routes.set('/relative', (response) => response.writeHead(302, { location: '/page.md' }).end());
    routes.set('/to-metadata', (response) => response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end());
    routes.set('/to-decimal', (response) => response.writeHead(301, { location: 'http://2130706433/' }).end());
    routes.set('/to-file', (response) => response.writeHead(307, { location: 'file:///etc/passwd' }).end());
    routes.set('/loop', (response) => response.writeHead(302, { location: '/loop' }).end());
    routes.set('/no-location', (response) => response.writeHead(302).end());
    routes.set('/error', (response) => response.writeHead(500).end('boom'));
    routes.set('/declared-large', (response) => response.writeHead(200, { 'content-length': '4096' }).end('x'.repeat(4096)));
    routes.set('/streamed-large', (response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 8; i++) response.write('y'.repeat(512));
      response.end();
    });
    routes.set('/slow', (response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first');
      const timer = setTimeout(() => response.end('late'), 5_000);
      response.on('close', () => clearTimeout(timer));
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches from an allowed host with its content type', async () => {
    const fetched = await safeFetch(`${base}/page.md`, options());
    expect(fetched).toEqual({ finalUrl: `${base}/page.md`, contentType: 'text/markdown', body: Buffer.from('# Title\n\nBody') });
  });

  it('follows a relative redirect and reports where it ended', async () => {
    const fetched = await safeFetch(`${base}/relative`, options());
    expect(fetched.finalUrl).toBe(`${base}/page.md`);
  });

  it('refuses the local server when it is not on the allow-list', async () => {
    const error = await failureOf(safeFetch(`${base}/page.md`, options({ allowedHosts: [] })));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
    expect(error.status).toBe(400);
    expect(error.message).toContain('loopback');
  });

  it('allows only the exact host:port listed', async () => {
    const error = await failureOf(safeFetch(`${base}/page.md`, options({ allowedHosts: [`127.0.0.1:${port + 1}`] })));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::1]/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0/',
    'http://10.0.0.1/',
    'http://[fe80::1]/',
    'http://localhost/',
    'http://LOCALHOST./',
    'http://api.localhost/',
  ])('refuses %s', async (url) => {
    const error = await failureOf(safeFetch(url, options({ allowedHosts: [] })));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
  });

  it.each(['file:///etc/passwd', 'gopher://example.com/', 'ftp://example.com/file', 'data:text/plain,hi', 'javascript:alert(1)'])(
    'refuses the scheme of %s',
    async (url) => {
      const error = await failureOf(safeFetch(url, options()));
      expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
      expect(error.message).toContain('Only http and https');
    },
  );

  it.each(['not a url', '/relative/path', ''])('refuses the malformed URL %j', async (url) => {
    const error = await failureOf(safeFetch(url, options()));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
  });

  it('refuses credentials in the URL', async () => {
    const error = await failureOf(safeFetch(`http://user:secret@${allowed}/page.md`, options()));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const resolve = () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 as const },
        { address: '10.0.0.5', family: 4 as const },
      ]);
    const error = await failureOf(safeFetch('http://mixed.example/', options({ resolve })));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
    expect(error.message).toContain('private');
  });

  it('connects to the address it vetted, not to a second lookup', async () => {
    // The name does not exist in real DNS: only the pinned address can have answered.
    let lookups = 0;
    const resolve = () => {
      lookups++;
      return Promise.resolve([{ address: '127.0.0.1', family: 4 as const }]);
    };
    const fetched = await safeFetch(
      `http://pinned.invalid:${port}/page.md`,
      options({ resolve, allowedHosts: [`pinned.invalid:${port}`] }),
    );
    expect(fetched.body.toString()).toBe('# Title\n\nBody');
    expect(lookups).toBe(1);
  });

  it('reports a name that does not resolve as a failed fetch', async () => {
    const error = await failureOf(safeFetch('http://nothing.invalid/', options({ resolve: () => Promise.reject(new Error('ENOTFOUND')) })));
    expect(error.code).toBe(UrlFetchErrorCode.FetchFailed);
    expect(error.status).toBe(502);
  });

  it.each([
    ['/to-metadata', 'the cloud metadata address'],
    ['/to-decimal', 'a decimal loopback spelling'],
  ])('refuses a redirect from an allowed host to %s (%s)', async (path) => {
    const error = await failureOf(safeFetch(`${base}${path}`, options()));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
  });

  it('refuses a redirect to another scheme', async () => {
    const error = await failureOf(safeFetch(`${base}/to-file`, options()));
    expect(error.code).toBe(UrlFetchErrorCode.NotAllowed);
  });

  it('gives up after maxRedirects', async () => {
    const error = await failureOf(safeFetch(`${base}/loop`, options({ maxRedirects: 3 })));
    expect(error.code).toBe(UrlFetchErrorCode.FetchFailed);
    expect(error.message).toContain('More than 3 redirects');
  });

  it('fails on a redirect without a Location and on an error status', async () => {
    expect((await failureOf(safeFetch(`${base}/no-location`, options()))).code).toBe(UrlFetchErrorCode.FetchFailed);
    const error = await failureOf(safeFetch(`${base}/error`, options()));
    expect(error.code).toBe(UrlFetchErrorCode.FetchFailed);
    expect(error.message).toContain('500');
  });

  it('refuses a body declared larger than maxBytes with 413', async () => {
    const error = await failureOf(safeFetch(`${base}/declared-large`, options()));
    expect(error.code).toBe(UrlFetchErrorCode.TooLarge);
    expect(error.status).toBe(413);
  });

  it('stops reading an undeclared body once it passes maxBytes', async () => {
    const error = await failureOf(safeFetch(`${base}/streamed-large`, options()));
    expect(error.code).toBe(UrlFetchErrorCode.TooLarge);
    const fetched = await safeFetch(`${base}/streamed-large`, options({ maxBytes: 4096 }));
    expect(fetched.body.length).toBe(4096);
  });

  it('times out a server that answers too slowly, with 504', async () => {
    const started = Date.now();
    const error = await failureOf(safeFetch(`${base}/slow`, options({ timeoutMs: 300 })));
    expect(error.code).toBe(UrlFetchErrorCode.Timeout);
    expect(error.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('times out a lookup that never answers', async () => {
    const error = await failureOf(
      safeFetch('http://hanging.example/', options({ timeoutMs: 200, resolve: () => new Promise(() => undefined) })),
    );
    expect(error.code).toBe(UrlFetchErrorCode.Timeout);
  });
});
