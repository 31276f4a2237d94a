import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';
import { writeTinyGguf } from 'test/support/tiny-gguf';

/**
 * The real engine end to end on a real in-process model: a single agent on the `llama-cpp`
 * provider (a generated tiny GGUF with random weights, no native tool calling) is asked for
 * JSON replies constrained by a grammar built from the response schema. Its text is
 * gibberish, but every reply must be a well-formed `{"tool": "calculator", "arguments":
 * {"expression": ...}}` or `{"answer": ...}`, which the engine validates, runs and records.
 */
describe('agent workflow on the in-process llama.cpp model (schema-constrained tool calls)', () => {
  let dir: string;
  let testApp: TestApp;
  let api: ApiClient;
  let user: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gremlins-gguf-'));
    writeTinyGguf(join(dir, 'tiny-agent.gguf'), { contextLength: 4096, seed: Number(process.env.TINY_AGENT_SEED ?? 7) });
    testApp = await startTestApp({
      env: { LLAMA_MODEL_PATH: join(dir, 'tiny-agent.gguf'), LLAMA_CONTEXT_SIZE: '4096', ROUTER_CACHE_TTL_SECONDS: '0' },
    });
    api = new ApiClient(testApp.baseUrl);
    user = await api.register('llama@example.com');
  }, 60_000);

  afterAll(async () => {
    await testApp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a single agent whose calculator call comes out of the grammar, validated and run', async () => {
    const agent = await api.post(
      '/api/v1/agents',
      { name: 'solver', description: 'Solves sums', systemPrompt: 'You solve sums.', model: 'tiny-agent', tools: ['calculator'] },
      { token: user.accessToken },
    );
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const started = await api.post(
      '/api/v1/workflows/runs',
      { query: 'What is 2 + 2?', mode: 'single', agents: ['solver'], limits: { maxSteps: 4, maxToolCalls: 1, timeoutMs: 120_000 } },
      { token: user.accessToken },
    );
    expect(started.status).toBe(202);
    let run: any;
    await vi.waitFor(
      async () => {
        run = (await api.get(`/api/v1/workflows/runs/${started.body.id}`, { token: user.accessToken })).body;
        expect(['completed', 'failed']).toContain(run.status);
      },
      { timeout: 100_000, interval: 250 },
    );
    const task = run.tasks[0];
    expect(task.toolMode).toBe('json');
    const modelSteps = task.steps.filter((step: any) => step.type === 'model');
    expect(modelSteps.length).toBeGreaterThan(0);
    expect(modelSteps.every((step: any) => step.model === 'tiny-agent' && step.routing.provider === 'llama-cpp')).toBe(true);
    // Every reply the grammar let through is one of the two forms, exactly.
    for (const step of modelSteps) {
      const reply = JSON.parse(step.content);
      const keys = Object.keys(reply).sort().join(',');
      expect(['arguments,tool', 'answer']).toContain(keys);
      if ('tool' in reply) {
        expect(reply.tool).toBe('calculator');
        expect(Object.keys(reply.arguments)).toEqual(['expression']);
        expect(typeof reply.arguments.expression).toBe('string');
      } else {
        expect(typeof reply.answer).toBe('string');
      }
    }
    // The first reply was a calculator call: it passed validation and ran (mathjs may reject gibberish: that is the tool's error).
    expect(task.steps[0].toolCalls).toEqual([{ id: 'call_1_0', name: 'calculator', arguments: expect.any(String) }]);
    expect(task.steps[1]).toMatchObject({ type: 'tool', tool: 'calculator', status: expect.stringMatching(/^(completed|failed)$/) });
    expect(task.steps[1].arguments).toEqual(JSON.parse(task.steps[0].toolCalls[0].arguments));
    // A later call may still be refused by validation (the grammar counts characters, zod counts UTF-16 units):
    // then the model is corrected, never the tool run.
    for (const step of task.steps.filter((entry: any) => entry.status === 'rejected')) {
      expect(step).toMatchObject({ tool: 'calculator', error: { code: 'AGENT_TOOL_CALL_INVALID' } });
    }
    // It ended clearly: an answer, or a limit, or a call still malformed after its correction.
    if (run.status === 'failed') {
      expect(['AGENT_TOOL_CALL_LIMIT_REACHED', 'AGENT_STEP_LIMIT_REACHED', 'AGENT_TOOL_CALL_INVALID']).toContain(run.error.code);
    } else {
      expect(typeof run.result).toBe('string');
    }
  }, 120_000);
});
