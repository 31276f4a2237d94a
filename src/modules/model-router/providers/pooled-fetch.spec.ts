import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PooledFetch, pooledFetch } from 'src/modules/model-router/providers/pooled-fetch';

let server: Server;
let http: PooledFetch;
const sockets = new Set<string>();

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  server = createServer((request, response) => {
    sockets.add(`${request.socket.remotePort}`);
    handler(request, response);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = pooledFetch(url);
  return url;
}

const bodyOf = (request: IncomingMessage) =>
  new Promise<string>((done) => {
    let text = '';
    request.on('data', (part: Buffer) => (text += part.toString()));
    request.on('end', () => done(text));
  });

afterEach(async () => {
  sockets.clear();
  await http?.close();
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done));
});

describe('pooledFetch', () => {
  it('sends method, headers and body, and answers like a fetch Response, over one kept-alive connection', async () => {
    const url = await serve(async (request, response) => {
      const body = await bodyOf(request);
      response.writeHead(201, { 'content-type': 'application/json', 'x-seen': request.headers['x-token'] ?? '' });
      response.end(JSON.stringify({ method: request.method, path: request.url, body }));
    });
    for (let i = 0; i < 3; i++) {
      const response = await http.fetch(`${url}/api/chat?x=1`, { method: 'POST', headers: { 'x-token': 'abc' }, body: '{"a":1}' });
      expect(response.ok).toBe(true);
      expect(response.status).toBe(201);
      expect(response.headers.get('Content-Type')).toBe('application/json');
      expect(response.headers.get('x-seen')).toBe('abc');
      expect(response.headers.get('x-missing')).toBeNull();
      expect(await response.json()).toEqual({ method: 'POST', path: '/api/chat?x=1', body: '{"a":1}' });
      // The connection returns to the pool once undici has seen the response complete.
      await new Promise((done) => setImmediate(done));
    }
    expect(sockets.size).toBe(1);
  });

  it('hands a failed answer out as not ok, with its text', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.end('busy');
    });
    const response = await http.fetch(`${url}/api/version`);
    expect(response.ok).toBe(false);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('busy');
  });

  it('reads a body as it arrives through the reader the ollama client uses', async () => {
    let sendRest!: () => void;
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write('{"n":1}\n');
      sendRest = () => response.end('{"n":2}\n');
    });
    const response = await http.fetch(`${url}/api/chat`, { method: 'POST', body: '{}' });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value).toString()).toBe('{"n":1}\n');
    sendRest();
    const rest: string[] = [];
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest.push(Buffer.from(part.value).toString());
    expect(rest.join('')).toBe('{"n":2}\n');
    reader.releaseLock();
  });

  it('hands the body out as an async iterable and the headers as entries, as the openai SDK reads them', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req-1' });
      response.write('data: 1\n\n');
      response.end('data: [DONE]\n\n');
    });
    const response = await http.fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: '{}',
    });
    expect(response.url).toBe(`${url}/v1/chat/completions`);
    expect(response.headers.has('X-Request-Id')).toBe(true);
    expect([...response.headers.entries()]).toContainEqual(['x-request-id', 'req-1']);
    let text = '';
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) text += Buffer.from(part).toString();
    expect(text).toBe('data: 1\n\ndata: [DONE]\n\n');
  });

  it('stops a request when its signal aborts, with the signal reason', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200);
      response.write('partial');
    });
    const controller = new AbortController();
    const response = await http.fetch(`${url}/api/chat`, { method: 'POST', body: '{}', signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(reader.read()).rejects.toBe(reason);
  });

  it('refuses a URL on another origin', async () => {
    await serve((_request, response) => response.end());
    await expect(http.fetch('http://169.254.169.254/latest/meta-data')).rejects.toThrow(/not this pool's origin/);
  });

  it('fails with a connection error code when nothing listens', async () => {
    const url = await serve((_request, response) => response.end());
    await new Promise((done) => server.close(done));
    await expect(http.fetch(`${url}/api/version`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
