import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from 'src/config/app-config';

const SECRET = 'k8J2m9Qx4vT7wZ1rB5nY3cF6hL0pS8dG2aE4uI7o';
const base = () => ({ DATA_DIR: mkdtempSync(join(tmpdir(), 'gremlins-oidc-config-')), JWT_SECRET: SECRET });

describe('OIDC configuration', () => {
  it('is off unless issuer and client id are both set', () => {
    expect(loadConfig(base()).oidc).toBeUndefined();
    expect(() => loadConfig({ ...base(), OIDC_CLIENT_ID: 'app' })).toThrow(/set both/);
  });

  it('reads the provider settings, with insecure http off by default', () => {
    const config = loadConfig({
      ...base(),
      OIDC_ISSUER_URL: 'https://accounts.google.com',
      OIDC_CLIENT_ID: 'app',
      OIDC_CLIENT_SECRET: 's',
    });
    expect(config.oidc).toEqual({
      issuerUrl: 'https://accounts.google.com',
      clientId: 'app',
      clientSecret: 's',
      scopes: 'openid email profile',
      providerName: 'oidc',
      postLoginRedirectUrl: undefined,
      allowInsecureHttp: false,
    });
  });

  it('refuses an http issuer unless OIDC_ALLOW_INSECURE_HTTP is set outside production', () => {
    const http = { ...base(), OIDC_ISSUER_URL: 'http://127.0.0.1:9000', OIDC_CLIENT_ID: 'app' };
    expect(() => loadConfig(http)).toThrow(/OIDC_ISSUER_URL: must use https/);
    expect(loadConfig({ ...http, NODE_ENV: 'test', OIDC_ALLOW_INSECURE_HTTP: 'true' }).oidc?.allowInsecureHttp).toBe(true);
    expect(() => loadConfig({ ...http, NODE_ENV: 'production', OIDC_ALLOW_INSECURE_HTTP: 'true' })).toThrow(
      /OIDC_ALLOW_INSECURE_HTTP: not allowed in production/,
    );
  });

  it('requires the openid scope', () => {
    expect(() =>
      loadConfig({ ...base(), OIDC_ISSUER_URL: 'https://id.example.com', OIDC_CLIENT_ID: 'app', OIDC_SCOPES: 'email profile' }),
    ).toThrow(/OIDC_SCOPES: must include openid/);
  });
});
