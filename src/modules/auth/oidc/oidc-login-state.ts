import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** The per-login secrets the callback must see again: CSRF state, replay nonce, PKCE verifier. */
export interface OidcLoginState {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export const OIDC_ROUTE_PREFIX = '/api/v1/auth/oidc';
export const OIDC_CALLBACK_PATH = `${OIDC_ROUTE_PREFIX}/callback`;
export const OIDC_LOGIN_COOKIE = 'gremlins_oidc_login';
/** Long enough to type a password and pass MFA at the provider, short enough to limit replay. */
export const OIDC_LOGIN_TTL_SECONDS = 600;

const FORMAT_VERSION = 'v1';
const MAX_SEALED_LENGTH = 2048;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals the login secrets into an opaque cookie value with AES-256-GCM under a key derived
 * from JWT_SECRET. Every replica shares that secret, so any replica can finish a login that
 * another one started, with no shared storage and no rows written for anonymous visitors.
 * GCM both hides the PKCE verifier and rejects any modified or forged value.
 */
export class LoginStateSealer {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    // A separate key per purpose: a leaked cookie key must never help forge access tokens.
    this.key = Buffer.from(hkdfSync('sha256', secret, 'gremlins-ai', 'oidc-login-state/v1', 32));
  }

  seal(state: OidcLoginState): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(OIDC_LOGIN_COOKIE));
    const payload = JSON.stringify({ ...state, exp: this.now() + OIDC_LOGIN_TTL_SECONDS * 1000 });
    const ciphertext = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]);
    return [FORMAT_VERSION, iv, ciphertext, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** Returns null for anything that is not an unexpired value this instance sealed. */
  open(sealed: string | undefined): OidcLoginState | null {
    if (!sealed || sealed.length > MAX_SEALED_LENGTH) return null;
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT_VERSION) return null;
    const [iv, ciphertext, tag] = parts.slice(1).map((part) => Buffer.from(part, 'base64url'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(OIDC_LOGIN_COOKIE));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      return parsePayload(JSON.parse(plain) as unknown, this.now());
    } catch {
      return null;
    }
  }
}

function parsePayload(value: unknown, now: number): OidcLoginState | null {
  if (typeof value !== 'object' || value === null) return null;
  const { state, nonce, codeVerifier, exp } = value as Record<string, unknown>;
  if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string') return null;
  if (typeof exp !== 'number' || exp <= now) return null;
  return { state, nonce, codeVerifier };
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
}

/**
 * HttpOnly keeps scripts away from the verifier; SameSite=Lax still sends it on the
 * provider's top-level GET redirect back to the callback; the path keeps it off every
 * other request.
 */
export function serializeLoginCookie(value: string, options: CookieOptions): string {
  const attributes = [
    `${OIDC_LOGIN_COOKIE}=${value}`,
    `Path=${OIDC_ROUTE_PREFIX}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (options.secure) attributes.push('Secure');
  return attributes.join('; ');
}

/** Reads one cookie from a Cookie header. Sealed values are base64url, so no decoding is needed. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator > 0 && pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
  }
  return undefined;
}
