import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { UsageService } from 'src/modules/model-router/usage/usage.service';
import { DataSource } from 'typeorm';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const MODEL = 'llama3.2:3b';
const WORDS = 12;

interface Outcome {
  index: number;
  received: string;
  status: 'complete' | 'error-after-first-token' | 'error-before-first-token';
  error?: string;
}

/**
 * The done-when: with three Ollama stand-ins, killing one mid-load loses no request
 * that had not started streaming, and every request that had gets an explicit error.
 */
describe('killing one of three nodes mid-load', () => {
  let nodes: OllamaTestServer[];
  let testApp: TestApp;
  let client: OpenAI;
  let userId: string;

  beforeAll(async () => {
    nodes = await Promise.all([0, 1, 2].map(() => new OllamaTestServer({ models: [MODEL] }).start()));
    for (const node of nodes) node.faults.interChunkDelayMs = 25;
    testApp = await startTestApp({
      env: {
        OLLAMA_URLS: nodes.map((node) => node.url).join(','),
        OLLAMA_NODE_MODEL_CONCURRENCY: '3',
        OLLAMA_HEALTH_INTERVAL_MS: '200',
        ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1',
      },
    });
    const api = new ApiClient(testApp.baseUrl);
    const admin = await api.register('ops@example.com');
    userId = admin.user.id;
    const key = await api.post('/api/v1/api-keys', { name: 'load' }, { token: admin.accessToken });
    client = new OpenAI({ baseURL: `${testApp.baseUrl}/v1`, apiKey: key.body.key, maxRetries: 0 });
    const pool = testApp.app.get(NodePool);
    await vi.waitFor(() => expect(pool.nodes.every((node) => node.healthy && node.models?.has(MODEL))).toBe(true), { timeout: 5_000 });
  });

  afterAll(async () => {
    await testApp?.close();
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('retries every request that had not streamed, and ends every one that had with an error event', async () => {
    const victim = nodes[1];
    const requests = Array.from({ length: 30 }, (_, index) => run(index));
    // Mid-load: every node has answers in flight and the rest are queued.
    await vi.waitFor(() => expect(victim.active).toBeGreaterThan(0), { timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await victim.stop();
    const outcomes = await Promise.all(requests);

    const expected = (index: number): string => words(index).join(' ');
    const cut = outcomes.filter((outcome) => outcome.status === 'error-after-first-token');
    const lost = outcomes.filter((outcome) => outcome.status === 'error-before-first-token');
    expect(lost).toEqual([]);
    expect(cut.length).toBeGreaterThan(0);
    for (const outcome of cut) {
      expect(outcome.error).toMatch(/incomplete/);
      expect(expected(outcome.index).startsWith(outcome.received)).toBe(true);
      expect(outcome.received.length).toBeLessThan(expected(outcome.index).length);
    }
    for (const outcome of outcomes.filter((o) => o.status === 'complete')) expect(outcome.received).toBe(expected(outcome.index));
    expect(outcomes.filter((o) => o.status === 'complete').length).toBe(30 - cut.length);

    // Each interrupted answer is recorded as incomplete; every slot was released.
    await testApp.app.get(UsageService).flush();
    const [{ incomplete }]: { incomplete: number }[] = await testApp.app
      .get(DataSource)
      .query(`SELECT count(*)::int AS incomplete FROM usage_records WHERE user_id = $1 AND outcome = 'incomplete'`, [userId]);
    expect(incomplete).toBe(cut.length);
    const pool = testApp.app.get(NodePool);
    expect(pool.nodes.every((node) => node.inFlightFor(MODEL) === 0)).toBe(true);
  });

  function words(index: number): string[] {
    return [`request-${index}`, ...Array.from({ length: WORDS - 1 }, (_, i) => `w${i}`)];
  }

  async function run(index: number): Promise<Outcome> {
    let received = '';
    try {
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: words(index).join(' ') }],
        stream: true,
      });
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
      return { index, received, status: 'complete' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { index, received, status: received ? 'error-after-first-token' : 'error-before-first-token', error: message };
    }
  }
});
