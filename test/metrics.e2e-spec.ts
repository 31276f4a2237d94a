import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

/** The value of one sample line, 0 when the series does not exist yet. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
    const present = labelText.split(',');
    if (wanted.every((pair) => present.includes(pair)) && present.length === wanted.length) return Number(line.split(' ').pop());
  }
  return 0;
}

describe('metrics', () => {
  let testApp: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  const scrape = async (): Promise<string> => {
    const response = await api.get<string>('/metrics');
    expect(response.status).toBe(200);
    return response.body;
  };

  it('serves Prometheus text at /metrics without credentials, with process metrics', async () => {
    const response = await api.get<string>('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(response.body).toContain(`# TYPE ${name} `);
    }
    expect(response.body).toContain('# TYPE http_requests_total counter');
    expect(response.body).toContain('# TYPE http_request_duration_seconds histogram');
    expect((await api.get('/api/v1/metrics')).status).toBe(404);
  });

  it('labels requests with the route template, never the raw URL, and counts errors and 404s', async () => {
    const account = await api.register(`metrics-${randomUUID()}@example.com`);
    const route = '/api/v1/workspaces/:workspaceId';
    const before = await scrape();
    const ok = { method: 'GET', route, status: '200' };
    const okBefore = sample(before, 'http_requests_total', ok);

    for (let i = 0; i < 3; i++)
      expect((await api.get(`/api/v1/workspaces/${account.workspaceId}`, { token: account.accessToken })).status).toBe(200);
    // Someone else's (or no) workspace: still the same route template.
    const foreign = await api.get(`/api/v1/workspaces/${randomUUID()}`, { token: account.accessToken });
    expect(foreign.status).toBeGreaterThanOrEqual(400);
    expect((await api.get('/api/v1/auth/me')).status).toBe(401);
    const junk = `/wp-admin/${randomUUID()}`;
    expect((await api.get(junk)).status).toBe(404);
    expect(
      (await api.post('/api/v1/auth/login', undefined, { rawBody: '{"broken', headers: { 'content-type': 'application/json' } })).status,
    ).toBe(400);

    const after = await scrape();
    expect(sample(after, 'http_requests_total', ok) - okBefore).toBe(3);
    expect(sample(after, 'http_requests_total', { method: 'GET', route, status: String(foreign.status) })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'http_requests_total', { method: 'GET', route: '/api/v1/auth/me', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'http_requests_total', { method: 'POST', route: '/api/v1/auth/login', status: '400' })).toBeGreaterThanOrEqual(1);

    // No label ever carries an id or a raw path.
    expect(after).not.toContain(account.workspaceId);
    expect(after).not.toContain(junk);

    // The histogram observes the same requests: its count moves with the counter.
    const countBefore = sample(before, 'http_request_duration_seconds_count', ok);
    expect(sample(after, 'http_request_duration_seconds_count', ok) - countBefore).toBe(3);
    expect(sample(after, 'http_request_duration_seconds_bucket', { le: '+Inf', ...ok })).toBe(
      sample(after, 'http_request_duration_seconds_count', ok),
    );
    expect(sample(after, 'http_request_duration_seconds_sum', ok)).toBeGreaterThan(0);
  });
});

describe('metrics and health in a role without the API', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { GREMLINS_ROLES: 'scheduler' } });
  });
  afterAll(() => testApp?.close());

  it('are served by every process', async () => {
    const api = new ApiClient(testApp.baseUrl);
    const metrics = await api.get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
    expect((await api.get('/health/live')).status).toBe(200);
    expect((await api.get('/health/ready')).status).toBe(200);
    // The API role's routes are not there.
    expect((await api.get('/api/v1/workspaces')).status).toBe(404);
  });
});
