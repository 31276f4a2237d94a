import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from 'test/support/browser';
import { ApiClient } from 'test/support/http';
import { signInAtProvider, startOidcProvider, TestOidcProvider } from 'test/support/oidc-provider';
import { startTestApp, TestApp } from 'test/support/test-app';

/** The app is reached through these public URLs, as behind a reverse proxy. */
const PUBLIC_URL = 'http://gremlins.test';
const SPA_PUBLIC_URL = 'http://sso.gremlins.test';
const DOWN_PUBLIC_URL = 'http://down.gremlins.test';
const DOWN_CLIENT_SECRET = 'a-client-secret-shared-with-the-late-provider';
const POST_LOGIN_PAGE = 'http://gremlins.test/app/signed-in';
const OIDC = '/api/v1/auth/oidc';
const callbackOf = (publicUrl: string) => `${publicUrl}${OIDC}/callback`;

function oidcEnv(idp: { issuer: string; clientId: string; clientSecret: string }, publicUrl: string, extra: Record<string, string> = {}) {
  return {
    PUBLIC_URL: publicUrl,
    OIDC_ISSUER_URL: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    OIDC_PROVIDER_NAME: 'Test IdP',
    OIDC_ALLOW_INSECURE_HTTP: 'true',
    ...extra,
  };
}

async function json(response: Response): Promise<any> {
  return JSON.parse(await response.text());
}

describe('OIDC login against a real OpenID Provider', () => {
  let idp: TestOidcProvider;
  let testApp: TestApp;
  let api: ApiClient;
  let adminToken: string;

  beforeAll(async () => {
    idp = await startOidcProvider({ redirectUris: [callbackOf(PUBLIC_URL), callbackOf(SPA_PUBLIC_URL)] });
    idp.accounts.set('alice', { email: 'alice@example.com', emailVerified: true, name: 'Alice Liddell' });
    testApp = await startTestApp({ env: oidcEnv(idp, PUBLIC_URL) });
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(async () => {
    await testApp?.close();
    await idp?.close();
  });

  const newBrowser = () => new TestBrowser({ [PUBLIC_URL]: testApp.baseUrl });

  async function startLogin(browser: TestBrowser, query = ''): Promise<string> {
    const response = await browser.get(`${PUBLIC_URL}${OIDC}/login${query}`);
    expect(response.status).toBe(302);
    return response.headers.get('location')!;
  }

  /** The whole browser round trip; returns the app's answer at the callback. */
  async function loginAs(login: string, browser = newBrowser()) {
    const callbackUrl = await signInAtProvider(browser, await startLogin(browser), login);
    const response = await browser.get(callbackUrl);
    return { status: response.status, body: await json(response), callbackUrl, browser };
  }

  const me = async (token: string) => (await api.get('/api/v1/auth/me', { token })).body;

  it('tells a login page that OIDC is enabled and what to call it', async () => {
    const response = await api.get(`${OIDC}/providers`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ enabled: true, name: 'Test IdP', loginUrl: `${OIDC}/login` });
  });

  it('redirects to the provider with PKCE S256, state and nonce, kept in a sealed HttpOnly cookie', async () => {
    const browser = newBrowser();
    // A caller cannot steer where the provider sends the browser back.
    const response = await browser.get(`${PUBLIC_URL}${OIDC}/login?redirect_uri=https://evil.example/cb`);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin).toBe(idp.issuer);
    const params = Object.fromEntries(location.searchParams);
    expect(params).toMatchObject({
      client_id: idp.clientId,
      redirect_uri: callbackOf(PUBLIC_URL),
      response_type: 'code',
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    expect(params.code_challenge).toMatch(/^[\w-]{43}$/);
    expect(params.state).toMatch(/^[\w-]{20,}$/);
    expect(params.nonce).toMatch(/^[\w-]{20,}$/);
    const setCookie = response.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^gremlins_oidc_login=v1\./);
    expect(setCookie).toContain(`Path=${OIDC}`);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Max-Age=600');
    expect(setCookie).not.toContain(params.state);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('creates the account on first login (first user becomes admin) and finds it by subject next time', async () => {
    const first = await loginAs('alice');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    // The login cookie is single-use.
    expect(first.browser.cookie(PUBLIC_URL, 'gremlins_oidc_login')).toBeUndefined();
    const profile = await me(first.body.accessToken);
    expect(profile.user).toMatchObject({ email: 'alice@example.com', name: 'Alice Liddell', instanceRole: 'admin' });
    adminToken = first.body.accessToken;

    const second = await loginAs('alice');
    expect(second.status).toBe(200);
    expect((await me(second.body.accessToken)).user.id).toBe(profile.user.id);
    expect((await api.post('/api/v1/auth/refresh', { refreshToken: second.body.refreshToken })).status).toBe(200);

    const events = await api.get(`/api/v1/admin/audit-events?action=auth.oidc.login&actorUserId=${profile.user.id}`, { token: adminToken });
    expect(events.body.map((event: any) => event.metadata.match)).toEqual(['subject', 'created']);
    expect(events.body[0].metadata.subject).toBe(`${idp.issuer}|alice`);
  });

  it('links a verified email to the existing password account', async () => {
    const bob = await api.register('bob@example.com', 'Bob');
    idp.accounts.set('bob-at-idp', { email: 'Bob@Example.com', emailVerified: true, name: 'Robert' });
    const login = await loginAs('bob-at-idp');
    expect(login.status).toBe(200);
    expect((await me(login.body.accessToken)).user.id).toBe(bob.user.id);
    // The password still works, and the identity is now linked by subject.
    expect((await api.post('/api/v1/auth/login', { email: 'bob@example.com', password: bob.password })).status).toBe(200);
    idp.accounts.set('bob-at-idp', { email: 'bob.new@example.com', emailVerified: true });
    const later = await loginAs('bob-at-idp');
    expect((await me(later.body.accessToken)).user.id).toBe(bob.user.id);
  });

  it('never links an unverified email to an existing account', async () => {
    const carol = await api.register('carol@example.com', 'Carol');
    idp.accounts.set('mallory', { email: 'carol@example.com', emailVerified: false, name: 'Not Carol' });
    const login = await loginAs('mallory');
    expect(login.status).toBe(409);
    expect(login.body.code).toBe('AUTH_OIDC_EMAIL_UNVERIFIED');

    const users = await api.get('/api/v1/admin/users?search=carol', { token: adminToken });
    expect(users.body.total).toBe(1);
    const failures = await api.get('/api/v1/admin/audit-events?action=auth.login.failed', { token: adminToken });
    expect(failures.body[0].metadata).toMatchObject({
      method: 'oidc',
      code: 'AUTH_OIDC_EMAIL_UNVERIFIED',
      subject: `${idp.issuer}|mallory`,
    });
    // Carol's own account is untouched.
    expect((await api.post('/api/v1/auth/login', { email: 'carol@example.com', password: carol.password })).status).toBe(200);
  });

  it('creates a plain account for an unverified email that nobody uses yet', async () => {
    idp.accounts.set('erin', { email: 'erin@example.com', emailVerified: false });
    const login = await loginAs('erin');
    expect(login.status).toBe(200);
    expect((await me(login.body.accessToken)).user).toMatchObject({ email: 'erin@example.com', name: 'erin', instanceRole: 'user' });
  });

  it('refuses an identity without an email address', async () => {
    idp.accounts.set('no-email', { name: 'Nobody' });
    const login = await loginAs('no-email');
    expect(login.status).toBe(401);
    expect(login.body.code).toBe('AUTH_OIDC_FAILED');
  });

  it('refuses a tampered state, and the login cookie is spent afterwards', async () => {
    const browser = newBrowser();
    const callbackUrl = new URL(await signInAtProvider(browser, await startLogin(browser), 'alice'));
    const genuine = callbackUrl.href;
    callbackUrl.searchParams.set('state', `${callbackUrl.searchParams.get('state')}x`);
    const tampered = await browser.get(callbackUrl.href);
    expect(tampered.status).toBe(400);
    expect((await json(tampered)).code).toBe('AUTH_OIDC_STATE_INVALID');
    expect((await json(await browser.get(genuine))).code).toBe('AUTH_OIDC_STATE_INVALID');
  });

  it('refuses a callback reaching a browser that did not start the login (login CSRF)', async () => {
    const attacker = newBrowser();
    const attackerCallback = await signInAtProvider(attacker, await startLogin(attacker), 'mallory');
    const victim = newBrowser();
    const response = await victim.get(attackerCallback);
    expect(response.status).toBe(400);
    expect((await json(response)).code).toBe('AUTH_OIDC_STATE_INVALID');

    // Nor does the victim's own login cookie make the attacker's callback acceptable.
    await startLogin(victim);
    expect((await json(await victim.get(attackerCallback))).code).toBe('AUTH_OIDC_STATE_INVALID');
  });

  it('refuses a forged or altered login cookie', async () => {
    const browser = newBrowser();
    const callbackUrl = await signInAtProvider(browser, await startLogin(browser), 'alice');
    const sealed = browser.cookie(PUBLIC_URL, 'gremlins_oidc_login')!;
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    for (const forged of [flipped, 'v1.AAAA.AAAA.AAAA', 'x'.repeat(5000)]) {
      browser.setCookie(PUBLIC_URL, 'gremlins_oidc_login', forged, OIDC);
      const response = await browser.get(callbackUrl);
      expect(response.status).toBe(400);
      expect((await json(response)).code).toBe('AUTH_OIDC_STATE_INVALID');
    }
  });

  it('a replayed callback fails at the provider: codes are single-use', async () => {
    const browser = newBrowser();
    const callbackUrl = await signInAtProvider(browser, await startLogin(browser), 'alice');
    const sealed = browser.cookie(PUBLIC_URL, 'gremlins_oidc_login')!;
    expect((await browser.get(callbackUrl)).status).toBe(200);
    browser.setCookie(PUBLIC_URL, 'gremlins_oidc_login', sealed, OIDC);
    const replay = await browser.get(callbackUrl);
    expect(replay.status).toBe(401);
    expect(await json(replay)).toMatchObject({ code: 'AUTH_OIDC_FAILED', message: expect.stringContaining('invalid_grant') });
  });

  it('reports a refused consent as a failed login', async () => {
    const browser = newBrowser();
    const callbackUrl = await signInAtProvider(browser, await startLogin(browser), 'alice', false);
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    const response = await browser.get(callbackUrl);
    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'AUTH_OIDC_FAILED', message: expect.stringContaining('access_denied') });
  });

  it('refuses an oversized callback query', async () => {
    const browser = newBrowser();
    await startLogin(browser);
    const response = await browser.get(`${callbackOf(PUBLIC_URL)}?code=${'a'.repeat(9000)}&state=x`);
    expect(response.status).toBe(400);
  });

  it('refuses a suspended user', async () => {
    idp.accounts.set('dave', { email: 'dave@example.com', emailVerified: true });
    const first = await loginAs('dave');
    expect(first.status).toBe(200);
    const dave = await me(first.body.accessToken);
    expect((await api.post(`/api/v1/admin/users/${dave.user.id}/suspend`, undefined, { token: adminToken })).status).toBe(200);

    const refused = await loginAs('dave');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('AUTH_ACCOUNT_SUSPENDED');
    const failures = await api.get(`/api/v1/admin/audit-events?action=auth.login.failed&actorUserId=${dave.user.id}`, {
      token: adminToken,
    });
    expect(failures.body[0].metadata).toMatchObject({ method: 'oidc', code: 'AUTH_ACCOUNT_SUSPENDED' });
  });

  it('respects closed sign-up: new identities are refused, linked ones still sign in', async () => {
    expect((await api.patch('/api/v1/admin/settings', { signupMode: 'closed' }, { token: adminToken })).status).toBe(200);
    try {
      idp.accounts.set('frank', { email: 'frank@example.com', emailVerified: true });
      const refused = await loginAs('frank');
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('AUTH_SIGNUP_CLOSED');
      expect((await loginAs('alice')).status).toBe(200);
    } finally {
      await api.patch('/api/v1/admin/settings', { signupMode: 'open' }, { token: adminToken });
    }
  });

  describe('with a post-login page configured', () => {
    let spa: TestApp;
    const spaBrowser = () => new TestBrowser({ [SPA_PUBLIC_URL]: spa.baseUrl });

    beforeAll(async () => {
      spa = await startTestApp({
        database: 'postgres',
        env: oidcEnv(idp, SPA_PUBLIC_URL, { OIDC_POST_LOGIN_REDIRECT_URL: POST_LOGIN_PAGE }),
      });
    });
    afterAll(() => spa?.close());

    async function spaCallback(browser: TestBrowser): Promise<string> {
      const login = await browser.get(`${SPA_PUBLIC_URL}${OIDC}/login`);
      return signInAtProvider(browser, login.headers.get('location')!, 'alice');
    }

    it('redirects there with the tokens in the URL fragment', async () => {
      const browser = spaBrowser();
      const response = await browser.get(await spaCallback(browser));
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(POST_LOGIN_PAGE);
      expect(location.search).toBe('');
      const fragment = new URLSearchParams(location.hash.slice(1));
      expect(fragment.get('token_type')).toBe('Bearer');
      expect(fragment.get('expires_in')).toBe('900');
      expect(fragment.get('refresh_token')).toMatch(/^rt_/);
      const profile = await new ApiClient(spa.baseUrl).get('/api/v1/auth/me', { token: fragment.get('access_token')! });
      expect(profile.body.user.email).toBe('alice@example.com');
    });

    it('redirects there with the error code in the fragment when the login fails', async () => {
      const browser = spaBrowser();
      const callbackUrl = new URL(await spaCallback(browser));
      callbackUrl.searchParams.set('state', 'forged');
      const response = await browser.get(callbackUrl.href);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(POST_LOGIN_PAGE);
      expect(new URLSearchParams(location.hash.slice(1)).get('error')).toBe('AUTH_OIDC_STATE_INVALID');
    });
  });
});

describe('OIDC when not configured', () => {
  let testApp: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    testApp = await startTestApp({ database: 'postgres' });
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  it('reports OIDC as disabled and answers 404 AUTH_OIDC_NOT_CONFIGURED on login and callback', async () => {
    expect((await api.get(`${OIDC}/providers`)).body).toEqual({ enabled: false, name: null, loginUrl: null });
    for (const path of [`${OIDC}/login`, `${OIDC}/callback?code=abc&state=def`]) {
      const response = await api.get(path);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('AUTH_OIDC_NOT_CONFIGURED');
    }
  });
});

describe('OIDC with the provider down', () => {
  let testApp: TestApp;
  let idp: TestOidcProvider | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    testApp = await startTestApp({
      database: 'postgres',
      env: oidcEnv({ issuer: `http://127.0.0.1:${port}`, clientId: 'gremlins-ai', clientSecret: DOWN_CLIENT_SECRET }, DOWN_PUBLIC_URL),
    });
  });
  afterAll(async () => {
    await testApp?.close();
    await idp?.close();
  });

  it('boots, answers 503 while the provider is down, and recovers once it is up', async () => {
    const api = new ApiClient(testApp.baseUrl);
    expect((await api.get(`${OIDC}/providers`)).body.enabled).toBe(true);
    const down = await api.get(`${OIDC}/login`);
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('AUTH_OIDC_PROVIDER_UNAVAILABLE');

    idp = await startOidcProvider({ redirectUris: [callbackOf(DOWN_PUBLIC_URL)], port, clientSecret: DOWN_CLIENT_SECRET });
    idp.accounts.set('grace', { email: 'grace@example.com', emailVerified: true });
    const browser = new TestBrowser({ [DOWN_PUBLIC_URL]: testApp.baseUrl });
    const login = await browser.get(`${DOWN_PUBLIC_URL}${OIDC}/login`);
    expect(login.status).toBe(302);
    const callback = await browser.get(await signInAtProvider(browser, login.headers.get('location')!, 'grace'));
    expect(callback.status).toBe(200);
    expect((await json(callback)).accessToken).toBeTruthy();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
