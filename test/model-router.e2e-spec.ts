import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from 'src/config/app-config';
import { NodePool } from 'src/modules/model-router/node-pool';
import { RouterService } from 'src/modules/model-router/router.service';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const MODEL = 'llama3.2:3b';

describe('model-router role with Ollama nodes from OLLAMA_URLS', () => {
  let nodes: OllamaTestServer[];
  let testApp: TestApp;

  beforeAll(async () => {
    nodes = await Promise.all([
      new OllamaTestServer({ models: [MODEL] }).start(),
      new OllamaTestServer({ models: [MODEL], loaded: [MODEL] }).start(),
      new OllamaTestServer({ models: [MODEL] }).start(),
    ]);
    testApp = await startTestApp({
      env: { GREMLINS_ROLES: 'api,router', OLLAMA_URLS: nodes.map((n) => `${n.url}/`).join(','), ROUTER_FIRST_TOKEN_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await testApp?.close();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('probes the configured nodes at boot and routes to the one with the model loaded', async () => {
    const pool = testApp.app.get(NodePool);
    await expect.poll(() => pool.nodes.every((n) => n.healthy), { timeout: 3000 }).toBe(true);
    const router = testApp.app.get(RouterService);
    const result = await router.complete({ model: MODEL, messages: [{ role: 'user', content: 'through the app' }] });
    expect(result).toMatchObject({ content: 'through the app', route: { nodeId: `ollama:${nodes[1].url}`, loaded: true } });
  });

  it('keeps serving when a node dies, and exposes router metrics', async () => {
    await nodes[1].stop();
    const router = testApp.app.get(RouterService);
    const result = await router.complete({ model: MODEL, messages: [{ role: 'user', content: 'still here' }] });
    expect(result.content).toBe('still here');
    expect(result.route.nodeId).not.toBe(`ollama:${nodes[1].url}`);

    const metrics = await (await fetch(`${testApp.baseUrl}/metrics`)).text();
    expect(metrics).toContain('gremlins_router_time_to_first_token_seconds_bucket');
    expect(metrics).toMatch(
      /gremlins_router_errors_total\{node="ollama:http:\/\/127\.0\.0\.1:\d+",model="llama3\.2:3b",kind="retried"\} 1/,
    );
    expect(metrics).toContain('gremlins_router_queue_depth');
  });
});

describe('model-router role without any Ollama configuration', () => {
  it('boots with an empty pool and answers ROUTER_NO_NODE', async () => {
    const testApp = await startTestApp({ env: { GREMLINS_ROLES: 'router' } });
    try {
      expect(testApp.app.get(NodePool).nodes).toEqual([]);
      await expect(
        testApp.app.get(RouterService).complete({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({
        code: 'ROUTER_NO_NODE',
      });
    } finally {
      await testApp.close();
    }
  });
});

describe('router configuration', () => {
  it('parses OLLAMA_URLS and rejects malformed node URLs and DNS names', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-router-config-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = loadConfig({ DATA_DIR: dataDir, OLLAMA_URLS: ' http://a:11434, http://b:11434/ ', OLLAMA_DNS: 'ollama-headless:11434' });
    expect(config.router).toMatchObject({
      ollamaUrls: ['http://a:11434', 'http://b:11434/'],
      ollamaDns: 'ollama-headless:11434',
      modelConcurrency: 1,
      maxAttempts: 3,
    });
    expect(() => loadConfig({ DATA_DIR: dataDir, OLLAMA_URLS: 'file:///etc/passwd' })).toThrow(/OLLAMA_URLS/);
    expect(() => loadConfig({ DATA_DIR: dataDir, OLLAMA_DNS: 'evil host/path' })).toThrow(/OLLAMA_DNS/);
    expect(() => loadConfig({ DATA_DIR: dataDir, ROUTER_MAX_ATTEMPTS: '0' })).toThrow(/ROUTER_MAX_ATTEMPTS/);
  });
});
