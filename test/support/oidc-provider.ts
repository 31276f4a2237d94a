import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { TestBrowser } from 'test/support/browser';

export interface TestAccount {
  email?: string;
  emailVerified?: boolean;
  name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Login name at the provider (also its `sub`) to claims; tests add accounts as they go. */
  accounts: Map<string, TestAccount>;
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (panva's oidc-provider, the certified implementation) on a local
 * port, with its built-in development login and consent pages, one confidential client and
 * PKCE required, so the client side is exercised the way Keycloak or Google would.
 */
export async function startOidcProvider(options: {
  redirectUris: string[];
  port?: number;
  clientSecret?: string;
}): Promise<TestOidcProvider> {
  // Listen first: the issuer URL, which the provider needs, contains the port.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'gremlins-ai';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const accounts = new Map<string, TestAccount>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    jwks: {
      keys: [
        {
          ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
          kid: 'test',
          use: 'sig',
          alg: 'RS256',
        },
      ],
    },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          name: account.name,
          ...(account.email !== undefined && { email: account.email, email_verified: account.emailVerified ?? false }),
        }),
      };
    },
  });
  const handle = provider.callback();
  server.on('request', (req, res) => void handle(req, res));

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Plays the user at the provider: from the provider's authorization URL, submits its login
 * form as `login` and its consent form, until the provider redirects off to the client.
 * Returns that redirect (the client's callback URL with code, state and iss).
 */
export async function signInAtProvider(browser: TestBrowser, authorizationUrl: string, login: string, consent = true): Promise<string> {
  let response = await browser.get(authorizationUrl);
  let url = authorizationUrl;
  const issuerOrigin = new URL(authorizationUrl).origin;
  for (let hop = 0; hop < 20; hop += 1) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url).href;
      if (new URL(url).origin !== issuerOrigin) return url;
      response = await browser.get(url);
      continue;
    }
    if (response.status !== 200) throw new Error(`provider answered ${response.status}: ${await response.text()}`);
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no interaction form at ${url}`);
    const submitUrl = new URL(action.replace(/&amp;/g, '&'), url).href;
    if (prompt === 'login') {
      response = await browser.postForm(submitUrl, { prompt, login, password: 'any password: dev interactions accept all' });
    } else if (consent) {
      response = await browser.postForm(submitUrl, { prompt });
    } else {
      response = await browser.get(`${submitUrl}/abort`);
    }
    url = submitUrl;
  }
  throw new Error('too many redirects at the provider');
}
