import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { RefreshToken } from 'src/modules/auth/tokens/refresh-token.entity';
import { Session } from 'src/modules/auth/tokens/session.entity';

@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async createWithRefreshToken(
    session: Pick<Session, 'userId' | 'method' | 'ip' | 'userAgent' | 'expiresAt'>,
    secretHash: string,
  ): Promise<{ session: Session; refreshToken: RefreshToken }> {
    return this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(manager.create(Session, session));
      const refreshToken = await manager.save(
        manager.create(RefreshToken, { sessionId: saved.id, secretHash, expiresAt: session.expiresAt }),
      );
      return { session: saved, refreshToken };
    });
  }

  findRefreshToken(id: string): Promise<(RefreshToken & { session: Session }) | null> {
    return this.dataSource
      .createQueryBuilder(RefreshToken, 'token')
      .innerJoinAndMapOne('token.session', Session, 'session', 'session.id = token.sessionId')
      .where('token.id = :id', { id })
      .getOne() as Promise<(RefreshToken & { session: Session }) | null>;
  }

  /**
   * Marks a refresh token used and issues its successor, atomically: of two concurrent
   * refreshes with the same token exactly one wins; the loser is treated as reuse.
   */
  async rotate(oldTokenId: string, successor: Pick<RefreshToken, 'sessionId' | 'secretHash' | 'expiresAt'>): Promise<RefreshToken | null> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager.update(RefreshToken, { id: oldTokenId, usedAt: IsNull() }, { usedAt: new Date() });
      if (result.affected !== 1) return null;
      return manager.save(manager.create(RefreshToken, successor));
    });
  }

  async revoke(sessionId: string, reason: string): Promise<void> {
    await this.dataSource
      .getRepository(Session)
      .update({ id: sessionId, revokedAt: IsNull() }, { revokedAt: new Date(), revokedReason: reason });
  }

  async revokeAllForUser(userId: string, reason: string): Promise<number> {
    const result = await this.dataSource
      .getRepository(Session)
      .update({ userId, revokedAt: IsNull() }, { revokedAt: new Date(), revokedReason: reason });
    return result.affected ?? 0;
  }

  /** Housekeeping: sessions past expiry or long revoked can go, with their refresh tokens. */
  async deleteExpired(olderThan: Date): Promise<number> {
    const result = await this.dataSource
      .createQueryBuilder()
      .delete()
      .from(Session)
      .where('expires_at < :olderThan OR revoked_at < :olderThan', { olderThan })
      .execute();
    return result.affected ?? 0;
  }
}
