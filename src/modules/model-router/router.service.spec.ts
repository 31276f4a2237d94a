import { afterEach, describe, expect, it } from 'vitest';
import { NodePool, NodePoolOptions } from 'src/modules/model-router/node-pool';
import { ChatChunk, ChatRequest } from 'src/modules/model-router/providers/llm-provider';
import { RouterErrorCode, RouterException, RouterStreamInterruptedError } from 'src/modules/model-router/router.exception';
import { RouterOptions, RouterService } from 'src/modules/model-router/router.service';
import { OllamaTestServer } from 'test/support/ollama-test-server';

const MODEL = 'llama3.2:3b';
const servers: OllamaTestServer[] = [];
const pools: NodePool[] = [];

async function server(options: { models?: string[]; loaded?: string[] } = {}): Promise<OllamaTestServer> {
  const s = await new OllamaTestServer({ models: options.models ?? [MODEL], loaded: options.loaded }).start();
  servers.push(s);
  return s;
}

function poolOptions(urls: string[], extra: Partial<NodePoolOptions> = {}): NodePoolOptions {
  return {
    urls,
    dnsRefreshMs: 60_000,
    healthIntervalMs: 60_000,
    psIntervalMs: 60_000,
    probeTimeoutMs: 1000,
    circuit: { failureThreshold: 2, openMs: 200 },
    ...extra,
  };
}

async function router(nodes: OllamaTestServer[], options: Partial<RouterOptions> = {}, pool?: NodePool): Promise<RouterService> {
  const p = pool ?? new NodePool(poolOptions(nodes.map((n) => n.url)));
  pools.push(p);
  await p.refresh();
  return new RouterService(p, {
    modelConcurrency: 1,
    queueMax: 10,
    queueTimeoutMs: 2000,
    maxAttempts: 3,
    firstTokenTimeoutMs: 300,
    ...options,
  });
}

function chat(text: string): ChatRequest {
  return { model: MODEL, messages: [{ role: 'user', content: text }] };
}

async function collect(chunks: AsyncIterable<ChatChunk>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk.content;
  return text;
}

function nodeOf(s: OllamaTestServer): string {
  return `ollama:${s.url}`;
}

function inFlight(r: RouterService): number {
  return r.pool.nodes.reduce((sum, node) => sum + node.inFlightFor(MODEL), 0);
}

afterEach(async () => {
  for (const p of pools.splice(0)) p.stop();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('RouterService placement and admission', () => {
  it('prefers the node that has the model loaded', async () => {
    const cold = await server();
    const warm = await server({ loaded: [MODEL] });
    const r = await router([cold, warm]);
    const result = await r.complete(chat('hello there'));
    expect(result.content).toBe('hello there');
    expect(result.route).toMatchObject({ nodeId: nodeOf(warm), loaded: true, failedAttempts: [] });
    expect(cold.requests).toHaveLength(0);
  });

  it('skips nodes that do not have the model and spreads ties round-robin', async () => {
    const other = await server({ models: ['qwen2.5:7b'] });
    // Both loaded, so neither is preferred and the tie is broken by turns.
    const a = await server({ loaded: [MODEL] });
    const b = await server({ loaded: [MODEL] });
    const r = await router([other, a, b]);
    const first = await r.complete(chat('one'));
    const second = await r.complete(chat('two'));
    expect(new Set([first.route.nodeId, second.route.nodeId])).toEqual(new Set([nodeOf(a), nodeOf(b)]));
    expect(other.requests).toHaveLength(0);
  });

  it('caps each node at one request per model, queues the rest FIFO and answers 429 past the bound', async () => {
    const a = await server();
    const b = await server();
    a.faults.interChunkDelayMs = 30;
    b.faults.interChunkDelayMs = 30;
    const r = await router([a, b], { queueMax: 2 });
    const running = [r.complete(chat('w1 w2 w3')), r.complete(chat('w1 w2 w3'))];
    const queued = [r.complete(chat('q1 q2')), r.complete(chat('q3 q4'))];
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.admission.queueDepth).toBe(2);
    await expect(r.complete(chat('too many'))).rejects.toMatchObject({ code: RouterErrorCode.Overloaded, status: 429 });
    const results = await Promise.all([...running, ...queued]);
    expect(results.map((x) => x.content)).toEqual(['w1 w2 w3', 'w1 w2 w3', 'q1 q2', 'q3 q4']);
    expect(results[2].route.queuedMs).toBeGreaterThan(0);
    expect(a.maxActive).toBe(1);
    expect(b.maxActive).toBe(1);
    expect(inFlight(r)).toBe(0);
  });

  it('answers 429 when a queued request waits past the timeout', async () => {
    const a = await server();
    a.faults.firstTokenDelayMs = 200;
    const r = await router([a], { queueTimeoutMs: 50 });
    const running = r.complete(chat('slow'));
    await expect(r.complete(chat('waiting'))).rejects.toMatchObject({ code: RouterErrorCode.Overloaded });
    await expect(running).resolves.toMatchObject({ content: 'slow' });
  });

  it('drops an aborted request from the queue so it never takes a slot', async () => {
    const a = await server();
    a.faults.interChunkDelayMs = 30;
    const r = await router([a]);
    const running = r.complete(chat('x y z'));
    const controller = new AbortController();
    const aborted = r.complete(chat('gone'), { signal: controller.signal });
    const next = r.complete(chat('kept'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.admission.queueDepth).toBe(2);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: RouterErrorCode.Aborted });
    expect(r.admission.queueDepth).toBe(1);
    await expect(next).resolves.toMatchObject({ content: 'kept' });
    await running;
    expect(a.requests).toHaveLength(2);
  });

  it('fails with ROUTER_NO_NODE when no healthy node serves the model', async () => {
    const a = await server({ models: ['other'] });
    const r = await router([a]);
    await expect(r.complete(chat('x'))).rejects.toMatchObject({ code: RouterErrorCode.NoNode, status: 503 });
  });
});

describe('RouterService failover', () => {
  it('moves to the next node on 503 before the first token', async () => {
    const busy = await server({ loaded: [MODEL] });
    const ok = await server();
    busy.faults.status503 = true;
    const r = await router([busy, ok]);
    const result = await r.complete(chat('retry me'));
    expect(result.content).toBe('retry me');
    expect(result.route.nodeId).toBe(nodeOf(ok));
    expect(result.route.failedAttempts).toEqual([{ nodeId: nodeOf(busy), error: expect.stringContaining('503') as string }]);
    expect(busy.requests).toHaveLength(1);
    expect(ok.requests).toHaveLength(1);
  });

  it('moves to the next node when a node refuses connections', async () => {
    const down = await server({ loaded: [MODEL] });
    const ok = await server();
    const r = await router([down, ok]);
    await down.stop();
    const result = await r.complete(chat('still served'));
    expect(result).toMatchObject({ content: 'still served', route: { nodeId: nodeOf(ok) } });
    expect(result.route.failedAttempts[0].nodeId).toBe(nodeOf(down));
  });

  it('abandons a node whose first token is too slow, with exactly one completion', async () => {
    const slow = await server({ loaded: [MODEL] });
    const ok = await server();
    slow.faults.firstTokenDelayMs = 1000;
    const r = await router([slow, ok], { firstTokenTimeoutMs: 100 });
    const started = Date.now();
    const result = await r.complete(chat('fast please'));
    expect(Date.now() - started).toBeLessThan(800);
    expect(result.route).toMatchObject({ nodeId: nodeOf(ok), failedAttempts: [{ nodeId: nodeOf(slow) }] });
    expect(inFlight(r)).toBe(0);
  });

  it('gives up after maxAttempts with ROUTER_UPSTREAM_FAILED', async () => {
    const nodes = [await server(), await server(), await server()];
    for (const n of nodes) n.faults.status503 = true;
    const r = await router(nodes, { maxAttempts: 2 });
    await expect(r.complete(chat('x'))).rejects.toMatchObject({ code: RouterErrorCode.UpstreamFailed, status: 502 });
    expect(nodes.reduce((sum, n) => sum + n.requests.length, 0)).toBe(2);
    expect(inFlight(r)).toBe(0);
  });

  it('after the first token, ends the stream with an explicit error and frees the slot', async () => {
    const flaky = await server({ loaded: [MODEL] });
    const other = await server();
    flaky.faults.dropAfterChunks = 2;
    flaky.faults.interChunkDelayMs = 5;
    const r = await router([flaky, other]);
    const { route, chunks } = await r.stream(chat('a b c d e'));
    expect(route.nodeId).toBe(nodeOf(flaky));
    const received: string[] = [];
    const error = await (async () => {
      try {
        for await (const chunk of chunks) received.push(chunk.content);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RouterStreamInterruptedError);
    expect(error).toMatchObject({ code: RouterErrorCode.StreamInterrupted, chunksSent: 2, nodeId: nodeOf(flaky) });
    expect(received).toEqual(['a', ' b']);
    // Never a second completion elsewhere for the same request.
    expect(other.requests).toHaveLength(0);
    expect(inFlight(r)).toBe(0);
  });

  it('releases the slot when the client aborts mid-stream, and when it leaves before reading', async () => {
    const a = await server();
    a.faults.interChunkDelayMs = 50;
    const r = await router([a]);
    const controller = new AbortController();
    const { chunks } = await r.stream(chat('one two three four'), { signal: controller.signal });
    const iterator = chunks[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: RouterErrorCode.Aborted });
    expect(inFlight(r)).toBe(0);

    const second = await r.stream(chat('never read'));
    expect(inFlight(r)).toBe(1);
    await second.chunks[Symbol.asyncIterator]().return?.();
    expect(inFlight(r)).toBe(0);
    expect(await collect((await r.stream(chat('next one'))).chunks)).toBe('next one');
  });

  it('opens the circuit after repeated failures and closes it after a successful half-open probe', async () => {
    const bad = await server({ loaded: [MODEL] });
    const good = await server();
    bad.faults.status503 = true;
    const r = await router([bad, good]);
    const breaker = r.pool.get(nodeOf(bad))!.breaker;
    await r.complete(chat('one'));
    await r.complete(chat('two'));
    expect(breaker.state).toBe('open');
    await r.complete(chat('three'));
    expect(bad.requests).toHaveLength(2);

    bad.faults.status503 = false;
    await new Promise((resolve) => setTimeout(resolve, 220));
    expect(breaker.state).toBe('half-open');
    // Only the recovering node is left, so the next request must be its probe.
    r.pool.remove(good.url);
    const probe = await r.complete(chat('probe'));
    expect(probe.route.nodeId).toBe(nodeOf(bad));
    expect(breaker.state).toBe('closed');
  });
});

describe('NodePool membership', () => {
  it('adds and removes nodes as DNS answers change, and routes to a node that joined', async () => {
    const a = await server();
    const portOf = (s: OllamaTestServer): string => new URL(s.url).port;
    // A headless Service's records share one port; the injected resolver plays its answers.
    let answer = ['127.0.0.1'];
    const pool = new NodePool(poolOptions([], { dns: `ollama-headless:${portOf(a)}` }), { resolver: () => Promise.resolve(answer) });
    const r = await router([], {}, pool);
    expect(pool.nodes.map((n) => n.url)).toEqual([a.url]);
    expect((await r.complete(chat('via dns'))).route.nodeId).toBe(nodeOf(a));

    answer = [];
    await pool.resolveDns();
    expect(pool.nodes).toHaveLength(0);
    await expect(r.complete(chat('nobody'))).rejects.toBeInstanceOf(RouterException);

    answer = ['127.0.0.1'];
    await pool.resolveDns();
    expect(pool.nodes).toHaveLength(1);
    expect(pool.nodes[0].healthy).toBe(true);
  });

  it('keeps the last known nodes when a DNS lookup fails', async () => {
    const a = await server();
    let fail = false;
    const pool = new NodePool(poolOptions([], { dns: `svc:${new URL(a.url).port}` }), {
      resolver: () => (fail ? Promise.reject(new Error('SERVFAIL')) : Promise.resolve(['127.0.0.1'])),
    });
    pools.push(pool);
    await pool.refresh();
    fail = true;
    await pool.resolveDns();
    expect(pool.nodes).toHaveLength(1);
  });

  it('wakes queued requests when a node becomes healthy', async () => {
    const a = await server();
    const r = await router([a]);
    a.faults.interChunkDelayMs = 40;
    const b = await server();
    const running = r.complete(chat('x y z'));
    const waiting = r.complete(chat('waiting here'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.admission.queueDepth).toBe(1);
    await r.pool.probe(r.pool.add(b.url, 'static'));
    const result = await waiting;
    expect(result.route.nodeId).toBe(nodeOf(b));
    await running;
  });

  it('marks a node unhealthy when its health check fails and routes around it', async () => {
    const a = await server({ loaded: [MODEL] });
    const b = await server();
    const r = await router([a, b]);
    await a.stop();
    await r.pool.checkHealth();
    expect(r.pool.get(nodeOf(a))!.healthy).toBe(false);
    const result = await r.complete(chat('around'));
    expect(result.route).toMatchObject({ nodeId: nodeOf(b), failedAttempts: [] });
  });

  it('learns which models are loaded from /api/ps', async () => {
    const a = await server();
    const b = await server();
    const r = await router([a, b]);
    b.loaded = [MODEL];
    await r.pool.pollLoaded();
    expect((await r.complete(chat('to b'))).route.nodeId).toBe(nodeOf(b));
  });
});
