import { randomBytes } from 'node:crypto';
import { randomSecret } from 'src/modules/auth/tokens/opaque-token';

/** `gai_` marks our keys (secret scanners can match it); the prefix is the lookup key. */
export const API_KEY_MARKER = 'gai_';
const PATTERN = /^gai_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function generateApiKey(): { key: string; prefix: string; secret: string } {
  const prefix = randomBytes(9)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 12);
  const secret = randomSecret();
  return { key: `${API_KEY_MARKER}${prefix}_${secret}`, prefix, secret };
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_MARKER);
}

export function parseApiKey(value: string): { prefix: string; secret: string } | null {
  const match = PATTERN.exec(value);
  return match ? { prefix: match[1], secret: match[2] } : null;
}
