import { describe, expect, it } from 'vitest';
import {
  LoginStateSealer,
  OIDC_LOGIN_COOKIE,
  OIDC_LOGIN_TTL_SECONDS,
  readCookie,
  serializeLoginCookie,
} from 'src/modules/auth/oidc/oidc-login-state';

const SECRET = 'k8J2m9Qx4vT7wZ1rB5nY3cF6hL0pS8dG2aE4uI7o';
const LOGIN = { state: 'state-value', nonce: 'nonce-value', codeVerifier: 'verifier-value-that-is-long-enough-for-pkce' };

describe('LoginStateSealer', () => {
  it('opens what it sealed, and hides the secrets it carries', () => {
    const sealer = new LoginStateSealer(SECRET);
    const sealed = sealer.seal(LOGIN);
    expect(sealer.open(sealed)).toEqual(LOGIN);
    expect(sealed).not.toContain(LOGIN.codeVerifier);
    expect(Buffer.from(sealed.split('.')[2], 'base64url').toString('latin1')).not.toContain('verifier');
    expect(sealer.seal(LOGIN)).not.toBe(sealed);
  });

  it('refuses a value sealed under another secret (another deployment)', () => {
    const sealed = new LoginStateSealer(`${SECRET}-other`).seal(LOGIN);
    expect(new LoginStateSealer(SECRET).open(sealed)).toBeNull();
  });

  it('refuses any single changed character', () => {
    const sealer = new LoginStateSealer(SECRET);
    const sealed = sealer.seal(LOGIN);
    for (let index = 3; index < sealed.length; index += 7) {
      if (sealed[index] === '.') continue;
      const altered = sealed.slice(0, index) + (sealed[index] === 'A' ? 'B' : 'A') + sealed.slice(index + 1);
      expect(sealer.open(altered)).toBeNull();
    }
  });

  it('refuses a truncated authentication tag, which GCM would otherwise accept', () => {
    const sealer = new LoginStateSealer(SECRET);
    const [version, iv, ciphertext, tag] = sealer.seal(LOGIN).split('.');
    const shortTag = Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url');
    expect(sealer.open([version, iv, ciphertext, shortTag].join('.'))).toBeNull();
  });

  it('expires after the login window', () => {
    let now = 1_000_000;
    const sealer = new LoginStateSealer(SECRET, () => now);
    const sealed = sealer.seal(LOGIN);
    now += OIDC_LOGIN_TTL_SECONDS * 1000 - 1;
    expect(sealer.open(sealed)).toEqual(LOGIN);
    now += 1;
    expect(sealer.open(sealed)).toBeNull();
  });

  it.each([undefined, '', 'garbage', 'v1.a.b', 'v2.AAAA.AAAA.AAAA', 'v1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(5000)])(
    'refuses malformed input %#',
    (value) => {
      expect(new LoginStateSealer(SECRET).open(value)).toBeNull();
    },
  );
});

describe('login cookie', () => {
  it('is HttpOnly, SameSite=Lax, scoped to the OIDC routes, and Secure on https', () => {
    const cookie = serializeLoginCookie('v1.abc', { maxAgeSeconds: 600, secure: false });
    expect(cookie).toBe(`${OIDC_LOGIN_COOKIE}=v1.abc; Path=/api/v1/auth/oidc; Max-Age=600; HttpOnly; SameSite=Lax`);
    expect(serializeLoginCookie('', { maxAgeSeconds: 0, secure: true })).toMatch(/Max-Age=0; HttpOnly; SameSite=Lax; Secure$/);
  });

  it('is read from a Cookie header among others', () => {
    expect(readCookie(`a=1; ${OIDC_LOGIN_COOKIE}=v1.x.y.z; b=2`, OIDC_LOGIN_COOKIE)).toBe('v1.x.y.z');
    expect(readCookie(`x${OIDC_LOGIN_COOKIE}=evil`, OIDC_LOGIN_COOKIE)).toBeUndefined();
    expect(readCookie(undefined, OIDC_LOGIN_COOKIE)).toBeUndefined();
  });
});
