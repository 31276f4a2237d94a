import { JwtService } from '@nestjs/jwt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Reads the development secret the app generated in its data folder. */
export function appSecret(dataDir: string): string {
  return readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim();
}

export function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
}

/** Signs claims the way an attacker who knows (or guesses) a secret would. */
export function signToken(secret: string, claims: Record<string, unknown>, options: { expiresIn?: number } = {}): string {
  const jwt = new JwtService({ secret });
  return jwt.sign(claims, { algorithm: 'HS256', ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }) });
}

/** An unsigned token (`alg: none`) carrying otherwise valid claims. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}
