import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';

/** API keys are tenant data: every read and write names the workspace. */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  create(key: Omit<ApiKey, 'id' | 'createdAt' | 'revokedAt' | 'lastUsedAt'>): Promise<ApiKey> {
    return this.keys.save(this.keys.create(key));
  }

  list(workspaceId: string, userId?: string): Promise<ApiKey[]> {
    return this.keys.find({ where: { workspaceId, ...(userId && { userId }) }, order: { createdAt: 'DESC' } });
  }

  findInWorkspace(workspaceId: string, id: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ workspaceId, id });
  }

  async revoke(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.keys.update({ workspaceId, id, revokedAt: IsNull() }, { revokedAt: new Date() });
    return (result.affected ?? 0) > 0;
  }

  async deleteExpired(olderThan: Date): Promise<number> {
    const result = await this.keys
      .createQueryBuilder()
      .delete()
      .where('revoked_at < :olderThan OR expires_at < :olderThan', { olderThan })
      .execute();
    return result.affected ?? 0;
  }
}
