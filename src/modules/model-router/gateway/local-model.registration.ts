import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { LOCAL_LLM_PROVIDER } from 'src/modules/model-router/gateway/chat-gateway.service';
import { LlamaCppProvider } from 'src/modules/model-router/providers/llama-cpp.provider';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';

/**
 * With LLAMA_MODEL_PATH set, the in-process model is registered once (tier `fast`, last in
 * priority) so that it answers by its name and serves as the fallback of last resort on a
 * machine with no model server. Admins may change or disable the entry like any other.
 */
@Injectable()
export class LocalModelRegistration implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ModelRouter');

  constructor(
    private readonly registry: ModelRegistryService,
    @Optional() @Inject(LOCAL_LLM_PROVIDER) private readonly local: LlamaCppProvider | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.local) return;
    const name = this.local.modelName;
    const existing = (await this.registry.list()).find((model) => model.name === name || model.aliases.includes(name));
    if (existing) {
      if (existing.providerKind !== 'llama-cpp') {
        this.logger.warn(`LLAMA_MODEL_PATH model "${name}" is not registered: the name is taken by a ${existing.providerKind} model`);
      }
      return;
    }
    await this.registry.create({ name, tier: 'fast', priority: 1000, providerKind: 'llama-cpp' });
    this.logger.log(`Registered the in-process model "${name}" (tier fast)`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.local?.close();
  }
}
