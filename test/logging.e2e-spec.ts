import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

interface LogLine {
  level: string;
  msg?: string;
  reqId?: string;
  context?: string;
  req?: { id: string; method: string; url: string };
  res?: { statusCode: number };
  [field: string]: unknown;
}

/**
 * Drives every credential-handling flow with logging at debug into a file, then reads the
 * file as an attacker with log access would: no credential may be in it.
 */
describe('logging', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'gremlins-logs-'));
  const logFile = join(logDir, 'app.log');
  const password = 'Tr0ub4dor&3-horse-battery';
  const wrongPassword = 'definitely-Not-The-Password-42';
  const cookie = 'session=cookie-value-that-must-not-leak';
  const secrets: Record<string, string> = { password, wrongPassword, cookie: 'cookie-value-that-must-not-leak' };
  const requestIds: string[] = [];
  let testApp: TestApp | undefined;
  let text = '';
  let lines: LogLine[] = [];
  let auditEvents: unknown;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { LOG_LEVEL: 'debug', LOG_FILE: logFile } });
    const api = new ApiClient(testApp.baseUrl);
    const track = <T extends { headers: Headers }>(response: T): T => {
      requestIds.push(response.headers.get('x-request-id') ?? 'missing');
      return response;
    };

    const registered = await api.register('logger@example.com', 'Logger', password);
    secrets.registerAccess = registered.accessToken;
    secrets.registerRefresh = registered.refreshToken;

    const failed = track(await api.post('/api/v1/auth/login', { email: 'logger@example.com', password: wrongPassword }));
    expect(failed.status).toBe(401);

    const login = track(await api.post('/api/v1/auth/login', { email: 'logger@example.com', password }));
    expect(login.status).toBe(200);
    secrets.loginAccess = login.body.accessToken;
    secrets.loginRefresh = login.body.refreshToken;

    const refreshed = track(await api.post('/api/v1/auth/refresh', { refreshToken: login.body.refreshToken }));
    expect(refreshed.status).toBe(200);
    secrets.refreshedAccess = refreshed.body.accessToken;
    secrets.refreshedRefresh = refreshed.body.refreshToken;

    const created = track(await api.post('/api/v1/api-keys', { name: 'ci' }, { token: refreshed.body.accessToken }));
    expect(created.status).toBe(201);
    const apiKey = created.body.key as string;
    secrets.apiKey = apiKey;
    secrets.apiKeySecret = apiKey.split('_').slice(2).join('_');
    expect(secrets.apiKeySecret.length).toBeGreaterThan(30);

    // The key in both headers it is accepted in, with a cookie and a caller-chosen request id.
    const viaHeader = track(await api.get('/api/v1/auth/me', { apiKey, headers: { cookie, 'x-request-id': 'caller-chosen-id-1' } }));
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.headers.get('x-request-id')).toBe('caller-chosen-id-1');
    const viaBearer = track(await api.get('/api/v1/auth/me', { token: apiKey }));
    expect(viaBearer.status).toBe(200);

    // Credentials in a query string (a misbehaving client, an OIDC callback) are masked in the URL.
    const inQuery = track(await api.get(`/api/v1/nowhere?access_token=${refreshed.body.accessToken}&code=${secrets.apiKeySecret}&page=2`));
    expect(inQuery.status).toBe(404);

    // A rejected body with unknown fields must not echo them into the logs either.
    const rejected = track(await api.post('/api/v1/auth/refresh', { refreshToken: refreshed.body.refreshToken, secret: password }));
    expect(rejected.status).toBe(400);

    track(await api.get('/health/live'));
    const audit = track(await api.get('/api/v1/admin/audit-events?limit=100', { token: refreshed.body.accessToken }));
    expect(audit.status).toBe(200);
    auditEvents = audit.body;

    await testApp.close();
    testApp = undefined;
    text = readFileSync(logFile, 'utf8');
    lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
  });

  afterAll(async () => {
    await testApp?.close();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('writes one JSON line per request, at the configured level', () => {
    expect(lines.length).toBeGreaterThan(requestIds.length);
    expect(lines.some((line) => line.level === 'debug')).toBe(true);
    for (const id of requestIds) {
      expect(lines.filter((line) => line.msg === 'request completed' && line.req?.id === id)).toHaveLength(1);
    }
    const failed = lines.find((line) => line.req?.url === '/api/v1/auth/login' && line.res?.statusCode === 401);
    expect(failed?.level).toBe('warn');
  });

  it('contains no password, token, API key or cookie', () => {
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(10);
      expect(text.includes(value), `${name} appears in the log`).toBe(false);
    }
    expect(text).not.toMatch(/gai_[A-Za-z0-9]{12}_/);
    expect(text).not.toMatch(/authorization|x-api-key|"cookie"/i);
    const masked = lines.find((line) => line.req?.url.startsWith('/api/v1/nowhere'));
    expect(masked?.req?.url).toBe('/api/v1/nowhere?access_token=[Redacted]&code=[Redacted]&page=2');
  });

  it('keeps credentials out of audit metadata too', () => {
    const stored = JSON.stringify(auditEvents);
    expect(stored).toContain('logger@example.com');
    for (const [name, value] of Object.entries(secrets)) expect(stored.includes(value), name).toBe(false);
  });

  it('tags every request line and every log made inside a request with the request id', () => {
    const requestLines = lines.filter((line) => line.req || line.res);
    expect(requestLines.length).toBeGreaterThanOrEqual(requestIds.length);
    for (const line of requestLines) {
      expect(line.reqId).toEqual(expect.any(String));
      expect(line.req?.id).toBe(line.reqId);
    }
    // The audit service logs inside the request it records.
    const auditLines = lines.filter((line) => line.context === 'AuditService');
    expect(auditLines.length).toBeGreaterThan(0);
    for (const line of auditLines) expect(line.reqId).toEqual(expect.any(String));
    expect(auditLines.find((line) => line.audit === 'auth.login.failed')?.reqId).toBe(requestIds[0]);
    expect(auditLines.find((line) => line.audit === 'api-key.created')?.reqId).toBe(requestIds[3]);
  });
});
