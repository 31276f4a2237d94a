import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { OpenAiCompatibleProvider } from 'src/modules/model-router/providers/openai-compatible.provider';
import { CreateUpstreamDto, UpdateUpstreamDto, UpstreamDto } from 'src/modules/model-router/registry/dto/upstreams.dto';
import { LlmUpstream } from 'src/modules/model-router/registry/llm-upstream.entity';
import { ModelRegistryErrorCode, ModelRegistryException } from 'src/modules/model-router/registry/model-registry.exception';
import { isUniqueViolation, ModelRegistryRepository } from 'src/modules/model-router/registry/model-registry.repository';
import { SecretBox } from 'src/modules/model-router/registry/secret-box';
import { checkUpstreamUrl } from 'src/modules/model-router/registry/upstream-url';

/** How long a replica reuses an upstream's client before re-reading its URL and key. */
const PROVIDER_TTL_MS = 10_000;

/** Admin-configured upstreams; the only place their API keys are decrypted. */
@Injectable()
export class UpstreamsService {
  private readonly secrets: SecretBox;
  /** One client per upstream (keeps its HTTP connections alive); writes here drop it at once. */
  private readonly providers = new Map<string, { createdAt: number; provider: Promise<OpenAiCompatibleProvider> }>();

  constructor(
    private readonly repository: ModelRegistryRepository,
    config: AppConfig,
  ) {
    this.secrets = new SecretBox(config.jwtSecret, 'llm-upstream-api-key');
  }

  async list(): Promise<UpstreamDto[]> {
    return (await this.repository.listUpstreams()).map((upstream) => UpstreamDto.from(upstream));
  }

  async get(id: string): Promise<UpstreamDto> {
    return UpstreamDto.from(await this.require(id));
  }

  async create(dto: CreateUpstreamDto): Promise<UpstreamDto> {
    await this.assertUrl(dto.baseUrl);
    const upstream = new LlmUpstream();
    upstream.id = randomUUID();
    upstream.name = dto.name;
    upstream.kind = dto.kind;
    upstream.baseUrl = dto.baseUrl;
    upstream.apiKeyEncrypted = dto.apiKey ? this.secrets.seal(dto.apiKey, upstream.id) : null;
    return UpstreamDto.from(await this.save(upstream));
  }

  async update(id: string, dto: UpdateUpstreamDto): Promise<UpstreamDto> {
    const upstream = await this.require(id);
    if (dto.baseUrl !== undefined) {
      await this.assertUrl(dto.baseUrl);
      upstream.baseUrl = dto.baseUrl;
    }
    if (dto.name !== undefined) upstream.name = dto.name;
    if (dto.apiKey !== undefined) upstream.apiKeyEncrypted = dto.apiKey === null ? null : this.secrets.seal(dto.apiKey, upstream.id);
    const saved = await this.save(upstream);
    this.forgetProvider(id);
    return UpstreamDto.from(saved);
  }

  async delete(id: string): Promise<void> {
    await this.require(id);
    const inUse = await this.repository.countModelsOfUpstream(id);
    if (inUse > 0) {
      throw new ModelRegistryException(
        ModelRegistryErrorCode.UpstreamInUse,
        `Upstream is used by ${inUse} model(s); move or delete them first`,
      );
    }
    await this.repository.deleteUpstream(id);
    this.forgetProvider(id);
  }

  /** The cached client of an upstream, for the router; fails like createProvider for an unknown id. */
  providerFor(id: string): Promise<OpenAiCompatibleProvider> {
    const cached = this.providers.get(id);
    if (cached && Date.now() - cached.createdAt < PROVIDER_TTL_MS) return cached.provider;
    if (cached) this.forgetProvider(id);
    const provider = this.createProvider(id);
    this.providers.set(id, { createdAt: Date.now(), provider });
    provider.catch(() => this.providers.delete(id));
    return provider;
  }

  /** Drops the cached client; its connections close once the calls running on it end. */
  private forgetProvider(id: string): void {
    const cached = this.providers.get(id);
    this.providers.delete(id);
    void cached?.provider.then((provider) => provider.close()).catch(() => undefined);
  }

  /** A provider for the upstream, with its decrypted key; for the router, never for the API. */
  async createProvider(id: string): Promise<OpenAiCompatibleProvider> {
    const upstream = await this.require(id);
    const apiKey = upstream.apiKeyEncrypted ? this.secrets.open(upstream.apiKeyEncrypted, upstream.id) : null;
    return new OpenAiCompatibleProvider({ id: `openai-compatible:${upstream.id}`, baseUrl: upstream.baseUrl, apiKey });
  }

  private async require(id: string): Promise<LlmUpstream> {
    const upstream = await this.repository.findUpstream(id);
    if (!upstream) throw new ModelRegistryException(ModelRegistryErrorCode.UpstreamNotFound, 'Upstream not found');
    return upstream;
  }

  private async assertUrl(baseUrl: string): Promise<void> {
    const reason = await checkUpstreamUrl(baseUrl);
    if (reason) throw new ModelRegistryException(ModelRegistryErrorCode.InvalidUpstreamUrl, reason);
  }

  private async save(upstream: LlmUpstream): Promise<LlmUpstream> {
    try {
      return await this.repository.saveUpstream(upstream);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ModelRegistryException(ModelRegistryErrorCode.NameTaken, `An upstream named ${upstream.name} exists`);
      throw error;
    }
  }
}
