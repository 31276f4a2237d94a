import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isSecretName, logRedactPaths, REDACTED, redactUrl, scrubSecrets } from 'src/common/observability/redaction';

describe('isSecretName', () => {
  it.each([
    'password',
    'newPassword',
    'refresh_token',
    'Refresh-Token',
    'accessToken',
    'apiKey',
    'X-API-Key',
    'key',
    'clientSecret',
    'smtpPassword',
    'webhookSecret',
    'authorization',
    'Cookie',
  ])('treats %s as a credential', (name) => expect(isSecretName(name)).toBe(true));

  it.each(['email', 'name', 'tokenType', 'maxTokens', 'promptTokens', 'keyId', 'permissions', 'expiresAt', 'prefix'])(
    'leaves %s alone',
    (name) => expect(isSecretName(name)).toBe(false),
  );
});

describe('scrubSecrets', () => {
  it('masks credential fields at any depth and in arrays, without touching the input', () => {
    const input = {
      email: 'a@example.com',
      password: 'hunter2',
      nested: { refreshToken: 'r', deeper: { clientSecret: 's', keep: 1 } },
      list: [{ apiKey: 'k', name: 'ci' }],
      when: new Date(0),
    };
    expect(scrubSecrets(input)).toEqual({
      email: 'a@example.com',
      password: REDACTED,
      nested: { refreshToken: REDACTED, deeper: { clientSecret: REDACTED, keep: 1 } },
      list: [{ apiKey: REDACTED, name: 'ci' }],
      when: new Date(0),
    });
    expect(input.password).toBe('hunter2');
  });

  it('returns the very same object when there is nothing to mask, and leaves class instances alone', () => {
    const clean = { reqId: 'r', req: { id: 'r', method: 'GET' }, list: [1, { a: 2 }] };
    expect(scrubSecrets(clean)).toBe(clean);
    const error = Object.assign(new Error('boom'), { password: 'kept-on-the-instance' });
    expect(scrubSecrets({ err: error }).err).toBe(error);
  });

  it('stops at a bounded depth instead of recursing forever', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(() => scrubSecrets(cyclic)).not.toThrow();
  });
});

describe('redactUrl', () => {
  it('masks credential-carrying query values and keeps the rest', () => {
    expect(redactUrl('/cb?code=abc&state=xyz&page=2')).toBe('/cb?code=[Redacted]&state=[Redacted]&page=2');
    expect(redactUrl('/x?access_token=t&api_key=k&refresh%5Ftoken=r&q=hello')).toBe(
      '/x?access_token=[Redacted]&api_key=[Redacted]&refresh%5Ftoken=[Redacted]&q=hello',
    );
  });

  it('leaves URLs without a query, flags without values and malformed escapes alone', () => {
    expect(redactUrl('/api/v1/workspaces/123')).toBe('/api/v1/workspaces/123');
    expect(redactUrl('/x?token&debug')).toBe('/x?token&debug');
    expect(redactUrl('/x?%E0%A4%A=1')).toBe('/x?%E0%A4%A=1');
  });
});

describe('logRedactPaths', () => {
  it('masks top-level credential fields through pino itself', () => {
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output += chunk.toString();
        callback();
      },
    });
    const logger = pino({ redact: { paths: logRedactPaths(), censor: REDACTED } }, sink);
    logger.info({ password: 'p-top', refreshToken: 'r-top', key: 'k-top', email: 'visible@example.com' }, 'message');
    for (const secret of ['p-top', 'r-top', 'k-top']) expect(output).not.toContain(secret);
    expect(output).toContain('visible@example.com');
  });
});
