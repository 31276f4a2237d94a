import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import { LlmUpstream } from 'src/modules/model-router/registry/llm-upstream.entity';
import { Model } from 'src/modules/model-router/registry/model.entity';

/** Models and upstreams are instance-wide (not tenant data): no workspace id here. */
@Injectable()
export class ModelRegistryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  listUpstreams(): Promise<LlmUpstream[]> {
    return this.dataSource.getRepository(LlmUpstream).find({ order: { name: 'ASC' } });
  }

  findUpstream(id: string): Promise<LlmUpstream | null> {
    return this.dataSource.getRepository(LlmUpstream).findOneBy({ id });
  }

  saveUpstream(upstream: LlmUpstream): Promise<LlmUpstream> {
    return this.dataSource.getRepository(LlmUpstream).save(upstream);
  }

  async deleteUpstream(id: string): Promise<void> {
    await this.dataSource.getRepository(LlmUpstream).delete({ id });
  }

  countModelsOfUpstream(upstreamId: string): Promise<number> {
    return this.dataSource.getRepository(Model).countBy({ upstreamId });
  }

  listModels(options: { enabledOnly?: boolean } = {}): Promise<Model[]> {
    return this.dataSource.getRepository(Model).find({
      where: options.enabledOnly ? { enabled: true } : {},
      order: { tier: 'ASC', priority: 'ASC', name: 'ASC' },
    });
  }

  findModel(id: string): Promise<Model | null> {
    return this.dataSource.getRepository(Model).findOneBy({ id });
  }

  /** Models whose name or aliases collide with any of `names` (one shared namespace). */
  findNameClashes(names: string[], excludeId?: string): Promise<Model[]> {
    const query = this.dataSource.createQueryBuilder(Model, 'm').where('(m.name = ANY(:names) OR m.aliases && :names::text[])', { names });
    if (excludeId) query.andWhere('m.id <> :excludeId', { excludeId });
    return query.getMany();
  }

  saveModel(model: Model): Promise<Model> {
    return this.dataSource.getRepository(Model).save(model);
  }

  async deleteModel(id: string): Promise<void> {
    await this.dataSource.getRepository(Model).delete({ id });
  }
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string } | undefined)?.code === '23505';
}
