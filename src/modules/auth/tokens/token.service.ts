import { LRUCache } from 'lru-cache';
import { createSecretKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from 'src/config/app-config';
import { AppEvents } from 'src/common/events/app-events';
import { AccessCache } from 'src/modules/auth/access-cache.service';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { randomSecret, secretMatches, sha256Hex } from 'src/modules/auth/tokens/opaque-token';
import { SessionsRepository } from 'src/modules/auth/tokens/sessions.repository';

export const JWT_ISSUER = 'gremlins-ai';
export const JWT_AUDIENCE = 'gremlins-ai:access';
/** HS256 only: `alg: none` and algorithm-confusion tokens are rejected by the verifier. */
export const JWT_ALGORITHM = 'HS256';

export interface AccessTokenClaims {
  sub: string;
  sid: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  tokenType: 'Bearer';
}

export interface SessionOrigin {
  method: 'password' | 'oidc' | 'register';
  ip?: string;
  userAgent?: string;
}

/**
 * Access tokens are short-lived JWTs naming the user and the session. Refresh tokens are
 * opaque `rt_<id>.<secret>` values that rotate on every use; presenting a used one revokes
 * the whole session, since either the user or a thief holds a copy.
 */
@Injectable()
export class TokenService {
  /**
   * The secret as a KeyObject, built once. Given a string, jsonwebtoken first tries to parse
   * it as a public key on every verify and catches the failure, which was half the CPU
   * time of an authenticated request.
   */
  private readonly key: Buffer;
  private readonly verified = new LRUCache<string, { claims: AccessTokenClaims; expiresAtMs: number }>({ max: 20_000 });

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly sessions: SessionsRepository,
    private readonly accessCache: AccessCache,
    private readonly events: AppEvents,
  ) {
    this.key = createSecretKey(Buffer.from(config.jwtSecret)) as unknown as Buffer;
  }

  async startSession(userId: string, origin: SessionOrigin): Promise<TokenPair> {
    const secret = randomSecret();
    const { session, refreshToken } = await this.sessions.createWithRefreshToken(
      {
        userId,
        method: origin.method,
        ip: origin.ip?.slice(0, 64) ?? null,
        userAgent: origin.userAgent?.slice(0, 256) ?? null,
        expiresAt: this.refreshExpiry(),
      },
      sha256Hex(secret),
    );
    return this.pair(userId, session.id, `rt_${refreshToken.id}.${secret}`);
  }

  async refresh(presented: string): Promise<{ tokens: TokenPair; userId: string }> {
    const parsed = parseRefreshToken(presented);
    const stored = parsed && (await this.sessions.findRefreshToken(parsed.id));
    if (!parsed || !stored || !secretMatches(parsed.secret, stored.secretHash)) throw invalidRefresh();
    const { session } = stored;
    if (session.revokedAt || session.expiresAt <= new Date() || stored.expiresAt <= new Date()) throw invalidRefresh();
    if (stored.usedAt) {
      await this.revoke(session.id, session.userId, 'refresh-token-reuse');
      throw new RefreshTokenReusedError(session.userId, session.id);
    }
    const secret = randomSecret();
    const successor = await this.sessions.rotate(stored.id, {
      sessionId: session.id,
      secretHash: sha256Hex(secret),
      expiresAt: session.expiresAt,
    });
    if (!successor) {
      await this.revoke(session.id, session.userId, 'refresh-token-reuse');
      throw new RefreshTokenReusedError(session.userId, session.id);
    }
    return { tokens: await this.pair(session.userId, session.id, `rt_${successor.id}.${secret}`), userId: session.userId };
  }

  async endSession(sessionId: string, userId: string): Promise<void> {
    await this.revoke(sessionId, userId, 'logout');
  }

  async endAllSessions(userId: string, reason: string): Promise<number> {
    const count = await this.sessions.revokeAllForUser(userId, reason);
    await this.accessCache.invalidate();
    return count;
  }

  private async revoke(sessionId: string, userId: string, reason: 'logout' | 'refresh-token-reuse'): Promise<void> {
    await this.sessions.revoke(sessionId, reason);
    await this.accessCache.invalidate();
    await this.events.emit('session.ended', { sessionId, userId, reason });
  }

  /**
   * Verifies signature, algorithm, issuer, audience and expiry; returns the claims. A token
   * seen before is not re-verified until it expires: its signature cannot change, and
   * whether its session still stands is checked on every request anyway.
   */
  verifyAccessToken(token: string): AccessTokenClaims {
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAtMs > Date.now()) return known.claims;
      this.verified.delete(token);
    }
    return this.verifySignature(token);
  }

  private verifySignature(token: string): AccessTokenClaims {
    try {
      const claims = this.jwt.verify<AccessTokenClaims & { exp?: number }>(token, {
        secret: this.key,
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      });
      if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number')
        throw new Error('missing claims');
      const verified = { sub: claims.sub, sid: claims.sid };
      this.verified.set(token, { claims: verified, expiresAtMs: claims.exp * 1000 });
      return verified;
    } catch (error) {
      if ((error as Error).name === 'TokenExpiredError') {
        throw new AuthException(AuthErrorCode.TokenExpired, 'Access token has expired; refresh it');
      }
      throw new AuthException(AuthErrorCode.InvalidToken, 'Access token is invalid');
    }
  }

  private async pair(userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
    const expiresIn = this.config.accessTokenTtlSeconds;
    const accessToken = await this.jwt.signAsync(
      { sid: sessionId },
      { secret: this.key, subject: userId, expiresIn, algorithm: JWT_ALGORITHM, issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
    );
    return { accessToken, refreshToken, expiresIn, tokenType: 'Bearer' };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.config.refreshTokenTtlDays * 24 * 3600 * 1000);
  }
}

/** Thrown as a 401 to the client; carries who to audit. */
export class RefreshTokenReusedError extends AuthException {
  constructor(
    readonly userId: string,
    readonly sessionId: string,
  ) {
    super(AuthErrorCode.RefreshTokenReused, 'Refresh token was already used; the session has been revoked. Sign in again');
  }
}

const invalidRefresh = () => new AuthException(AuthErrorCode.InvalidRefreshToken, 'Refresh token is invalid or expired');

const REFRESH_TOKEN_PATTERN = /^rt_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

function parseRefreshToken(value: string): { id: string; secret: string } | null {
  const match = REFRESH_TOKEN_PATTERN.exec(value);
  return match ? { id: match[1], secret: match[2] } : null;
}
