import { Injectable } from '@nestjs/common';
import { MODEL_TIERS, type ModelTier } from 'src/modules/model-router/complexity';
import { CreateModelDto, ModelDto, UpdateModelDto } from 'src/modules/model-router/registry/dto/models.dto';
import { ModelRegistryErrorCode, ModelRegistryException } from 'src/modules/model-router/registry/model-registry.exception';
import { isUniqueViolation, ModelRegistryRepository } from 'src/modules/model-router/registry/model-registry.repository';
import { Model } from 'src/modules/model-router/registry/model.entity';

/** Words a model name or alias may not take: they select a tier or complexity routing. */
const RESERVED_NAMES = new Set<string>([...MODEL_TIERS, 'auto']);

export interface ResolvedModel {
  /** Enabled models in preference order: the first is the choice, the rest are same-tier fallbacks. */
  models: ModelDto[];
  via: 'name' | 'alias' | 'tier';
}

/**
 * How long a replica routes on its snapshot of the enabled models before re-reading them.
 * Writes on this replica refresh it at once; other replicas see a change within this time.
 * Routing then costs no query per request.
 */
const CATALOG_TTL_MS = 5_000;

/** The catalogue; the first-boot defaults are seeded by the SeedDefaultModels migration. */
@Injectable()
export class ModelRegistryService {
  private catalog?: { loadedAt: number; models: Promise<ModelDto[]> };

  constructor(private readonly repository: ModelRegistryRepository) {}

  async list(options: { enabledOnly?: boolean } = {}): Promise<ModelDto[]> {
    return (await this.repository.listModels(options)).map((model) => ModelDto.from(model));
  }

  async get(id: string): Promise<ModelDto> {
    return ModelDto.from(await this.require(id));
  }

  /**
   * A concrete name or alias wins; otherwise a tier name gives that tier's enabled models.
   * `auto` is not resolved here: the caller runs complexity analysis and passes the tier.
   */
  async resolveModel(nameOrAliasOrTier: string): Promise<ResolvedModel> {
    const enabled = await this.enabledModels();
    if ((MODEL_TIERS as readonly string[]).includes(nameOrAliasOrTier)) {
      const models = enabled.filter((model) => model.tier === nameOrAliasOrTier);
      if (models.length === 0)
        throw new ModelRegistryException(ModelRegistryErrorCode.ModelNotFound, `No enabled model in tier ${nameOrAliasOrTier}`);
      return { models, via: 'tier' };
    }
    const model = enabled.find((candidate) => candidate.name === nameOrAliasOrTier || candidate.aliases.includes(nameOrAliasOrTier));
    if (!model)
      throw new ModelRegistryException(
        ModelRegistryErrorCode.ModelNotFound,
        `Unknown model ${JSON.stringify(nameOrAliasOrTier.slice(0, 128))}`,
      );
    return { models: [model], via: model.name === nameOrAliasOrTier ? 'name' : 'alias' };
  }

  /** Enabled models of a tier by priority; empty when there are none. */
  async enabledInTier(tier: ModelTier): Promise<ModelDto[]> {
    return (await this.enabledModels()).filter((model) => model.tier === tier);
  }

  /** Every enabled model, ordered by tier, priority and name; from the routing snapshot. */
  async enabledModels(): Promise<ModelDto[]> {
    if (!this.catalog || Date.now() - this.catalog.loadedAt > CATALOG_TTL_MS) {
      const models = this.repository.listModels({ enabledOnly: true }).then((rows) => rows.map((row) => ModelDto.from(row)));
      this.catalog = { loadedAt: Date.now(), models };
      // A failed read must not be served for the next five seconds.
      models.catch(() => (this.catalog = undefined));
    }
    return this.catalog.models;
  }

  async create(dto: CreateModelDto): Promise<ModelDto> {
    const model = new Model();
    model.name = dto.name;
    model.aliases = dto.aliases ?? [];
    model.tier = dto.tier;
    model.priority = dto.priority ?? 100;
    model.providerKind = dto.providerKind;
    model.upstreamId = dto.upstreamId ?? null;
    model.enabled = dto.enabled ?? true;
    model.contextLength = dto.contextLength ?? null;
    model.supportsTools = dto.capabilities?.tools ?? false;
    model.supportsVision = dto.capabilities?.vision ?? false;
    model.supportsEmbeddings = dto.capabilities?.embeddings ?? false;
    return ModelDto.from(await this.validateAndSave(model));
  }

  async update(id: string, dto: UpdateModelDto): Promise<ModelDto> {
    const model = await this.require(id);
    if (dto.name !== undefined) model.name = dto.name;
    if (dto.aliases !== undefined) model.aliases = dto.aliases;
    if (dto.tier !== undefined) model.tier = dto.tier;
    if (dto.priority !== undefined) model.priority = dto.priority;
    if (dto.providerKind !== undefined) model.providerKind = dto.providerKind;
    if (dto.upstreamId !== undefined) model.upstreamId = dto.upstreamId;
    if (dto.enabled !== undefined) model.enabled = dto.enabled;
    if (dto.contextLength !== undefined) model.contextLength = dto.contextLength;
    if (dto.capabilities) {
      model.supportsTools = dto.capabilities.tools;
      model.supportsVision = dto.capabilities.vision;
      model.supportsEmbeddings = dto.capabilities.embeddings;
    }
    return ModelDto.from(await this.validateAndSave(model));
  }

  async delete(id: string): Promise<void> {
    await this.require(id);
    await this.repository.deleteModel(id);
    this.catalog = undefined;
  }

  private async require(id: string): Promise<Model> {
    const model = await this.repository.findModel(id);
    if (!model) throw new ModelRegistryException(ModelRegistryErrorCode.ModelNotFound, 'Model not found');
    return model;
  }

  private async validateAndSave(model: Model): Promise<Model> {
    const names = [model.name, ...model.aliases];
    const reserved = names.find((name) => RESERVED_NAMES.has(name));
    if (reserved)
      throw new ModelRegistryException(ModelRegistryErrorCode.InvalidModel, `"${reserved}" is reserved for tier and auto routing`);
    if (model.aliases.includes(model.name))
      throw new ModelRegistryException(ModelRegistryErrorCode.InvalidModel, 'An alias may not repeat the model name');

    if (model.providerKind === 'openai-compatible') {
      if (!model.upstreamId)
        throw new ModelRegistryException(ModelRegistryErrorCode.InvalidModel, 'openai-compatible models need an upstreamId');
      if (!(await this.repository.findUpstream(model.upstreamId))) {
        throw new ModelRegistryException(ModelRegistryErrorCode.UpstreamNotFound, 'Upstream not found');
      }
    } else if (model.upstreamId) {
      throw new ModelRegistryException(ModelRegistryErrorCode.InvalidModel, `${model.providerKind} models take no upstreamId`);
    }

    const clashes = await this.repository.findNameClashes(names, model.id);
    if (clashes.length > 0) {
      const taken = names.filter((name) => clashes.some((clash) => clash.name === name || clash.aliases.includes(name)));
      throw new ModelRegistryException(ModelRegistryErrorCode.NameTaken, `Already used as a model name or alias: ${taken.join(', ')}`);
    }
    try {
      const saved = await this.repository.saveModel(model);
      this.catalog = undefined;
      return saved;
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ModelRegistryException(ModelRegistryErrorCode.NameTaken, `A model named ${model.name} exists`);
      throw error;
    }
  }
}
