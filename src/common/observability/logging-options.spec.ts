import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type LoggerOptions } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildLoggerParams, requestLogLevel } from 'src/common/observability/logging-options';
import { loadConfig } from 'src/config/app-config';

describe('requestLogLevel', () => {
  it('logs failures above successes', () => {
    expect(requestLogLevel('/api/v1/auth/login', 500)).toBe('error');
    expect(requestLogLevel('/api/v1/auth/login', 401)).toBe('warn');
    expect(requestLogLevel('/api/v1/auth/login', 200)).toBe('info');
  });

  it('keeps probes and scrapes at debug unless they fail', () => {
    expect(requestLogLevel('/health/live', 200)).toBe('debug');
    expect(requestLogLevel('/health/ready', 503)).toBe('error');
    expect(requestLogLevel('/metrics', 200)).toBe('debug');
    expect(requestLogLevel('/metrics?x=1', 200)).toBe('debug');
    expect(requestLogLevel('/metricsfoo', 200)).toBe('info');
    expect(requestLogLevel('/api/v1/health/live', 200)).toBe('info');
  });
});

describe('the configured logger', () => {
  it('masks credentials at any depth and keeps the rest', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-logging-'));
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output += chunk.toString();
        callback();
      },
    });
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    const [options] = buildLoggerParams(config, sink).pinoHttp as [LoggerOptions, unknown];
    const logger = pino(options, sink);
    logger.info(
      {
        password: 'p-top',
        dto: { refreshToken: 'r-nested', email: 'visible@example.com', api_key: 'k-snake' },
        params: { body: { accessToken: 'a-deep' }, items: [{ clientSecret: 'c-array' }] },
        req: {
          id: 'rid',
          method: 'POST',
          url: '/cb?code=o-code',
          headers: { authorization: 'Bearer h-auth', 'x-api-key': 'h-key' },
          body: { password: 'b-body' },
        },
        headers: { cookie: 'h-cookie', 'X-API-Key': 'h-key2' },
        res: { statusCode: 200, headers: { 'set-cookie': 'h-set-cookie' } },
      },
      'message',
    );
    rmSync(dataDir, { recursive: true, force: true });
    for (const secret of [
      'p-top',
      'r-nested',
      'k-snake',
      'a-deep',
      'c-array',
      'o-code',
      'h-auth',
      'h-key',
      'b-body',
      'h-set-cookie',
      'h-cookie',
      'h-key2',
    ])
      expect(output).not.toContain(secret);
    const line = JSON.parse(output) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'info',
      dto: { email: 'visible@example.com' },
      req: { id: 'rid', method: 'POST', url: '/cb?code=[Redacted]' },
      res: { statusCode: 200 },
    });
    expect(line.req).not.toHaveProperty('headers');
    expect(line.req).not.toHaveProperty('body');
  });
});
