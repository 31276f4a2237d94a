import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from 'src/config/app-config';

const tempDir = () => mkdtempSync(join(tmpdir(), 'gremlins-config-'));
const STRONG_SECRET = 'k8J2m9Qx4vT7wZ1rB5nY3cF6hL0pS8dG2aE4uI7o';

describe('loadConfig', () => {
  it('applies defaults on an empty environment', () => {
    const config = loadConfig({ DATA_DIR: tempDir() });
    expect(config.port).toBe(3000);
    expect(config.roles).toEqual(['api', 'scheduler', 'router', 'rag', 'agents']);
    expect(config.transport).toBe('in-process');
    expect(config.isEmbeddedDatabase).toBe(true);
    expect(config.rateLimits).toEqual({ anonymousPerHour: 1000, authenticatedPerHour: 5000 });
  });

  it('refuses to start in production without a JWT secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: tempDir() })).toThrow(/JWT_SECRET: required in production/);
  });

  it.each([
    ['short', 'too short'],
    ['secretsecretsecretsecretsecretsecretsecret', 'too predictable'],
  ])('refuses a weak JWT secret (%s)', (secret, message) => {
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, DATA_DIR: tempDir() })).toThrow(message);
  });

  it('accepts a strong explicit secret in production', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, DATA_DIR: tempDir() }).jwtSecret).toBe(STRONG_SECRET);
  });

  it('generates a random development secret once, keeps it private in DATA_DIR and reuses it', () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir }).jwtSecret;
    const second = loadConfig({ DATA_DIR: dataDir }).jwtSecret;
    expect(first).toHaveLength(64);
    expect(second).toBe(first);
    expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8')).toBe(first);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: tempDir() }).jwtSecret).not.toBe(first);
  });

  it('lists every bad value at once with the variable name', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', GREMLINS_ROLES: 'api,bogus', DATA_DIR: tempDir() });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = (error as Error).message;
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/DATABASE_URL: must be a URL starting with postgres:\/\/ or postgresql:\/\//);
    expect(message).toMatch(/GREMLINS_ROLES: unknown role\(s\) bogus/);
  });

  it('reads RAG_URL_ALLOWED_HOSTS as normalised host:port pairs, empty by default', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).ragIngestion.urlAllowedHosts).toEqual([]);
    const config = loadConfig({ DATA_DIR: tempDir(), RAG_URL_ALLOWED_HOSTS: ' Wiki.Intranet:8080, [::1]:80 ,' });
    expect(config.ragIngestion.urlAllowedHosts).toEqual(['wiki.intranet:8080', '[::1]:80']);
    expect(() => loadConfig({ DATA_DIR: tempDir(), RAG_URL_ALLOWED_HOSTS: 'wiki.intranet' })).toThrow(/RAG_URL_ALLOWED_HOSTS.*host:port/);
  });

  it('picks the transport from the configured brokers', () => {
    expect(loadConfig({ DATA_DIR: tempDir(), NATS_URL: 'nats://127.0.0.1:4222' }).transport).toBe('nats');
    expect(loadConfig({ DATA_DIR: tempDir(), REDIS_URL: 'redis://127.0.0.1:6379' }).transport).toBe('redis');
    expect(() => loadConfig({ DATA_DIR: tempDir(), GREMLINS_TRANSPORT: 'nats' })).toThrow(/nats needs NATS_URL/);
  });

  it('selects a subset of roles', () => {
    expect(loadConfig({ DATA_DIR: tempDir(), GREMLINS_ROLES: ' scheduler ' }).roles).toEqual(['scheduler']);
  });
});
