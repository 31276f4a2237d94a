import { analyseComplexity, ComplexityDecision, ModelTier } from 'src/modules/model-router/complexity';
import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';
import { ModelDto } from 'src/modules/model-router/registry/dto/models.dto';
import { ModelRegistryErrorCode, ModelRegistryException } from 'src/modules/model-router/registry/model-registry.exception';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';

export interface Candidate {
  model: ModelDto;
  /** False for the first choice's own tier, true for models from the fallback chain. */
  fromFallbackTier: boolean;
}

/** Which models may answer a request, in the order they are tried. */
export interface ModelPlan {
  via: 'name' | 'alias' | 'tier' | 'auto';
  tier: ModelTier;
  complexity?: ComplexityDecision;
  candidates: Candidate[];
}

export interface PlanOptions {
  tierFallback: Partial<Record<ModelTier, ModelTier[]>>;
  autoThresholds: { balanced: number; powerful: number };
}

/**
 * A concrete name or alias is that model and nothing else: a caller who names a model gets
 * it or an error. A tier (or `auto`, which picks a tier by complexity) is its enabled models
 * by priority, then the models of each tier in its fallback chain.
 */
export async function planModels(
  registry: ModelRegistryService,
  requested: string,
  messages: readonly ChatMessage[],
  options: PlanOptions,
): Promise<ModelPlan> {
  let complexity: ComplexityDecision | undefined;
  let tier: ModelTier;
  if (requested === 'auto') {
    complexity = analyseComplexity(messages, { thresholds: options.autoThresholds });
    tier = complexity.tier;
  } else {
    const resolved = await resolveOrEmptyTier(registry, requested);
    if (resolved.via !== 'tier')
      return { via: resolved.via, tier: resolved.models[0].tier, candidates: [{ model: resolved.models[0], fromFallbackTier: false }] };
    tier = requested as ModelTier;
  }
  const candidates: Candidate[] = (await registry.enabledInTier(tier)).map((model) => ({ model, fromFallbackTier: false }));
  for (const fallbackTier of options.tierFallback[tier] ?? []) {
    for (const model of await registry.enabledInTier(fallbackTier)) candidates.push({ model, fromFallbackTier: true });
  }
  if (candidates.length === 0) {
    throw new ModelRegistryException(ModelRegistryErrorCode.ModelNotFound, `No enabled model in tier ${tier} or its fallback tiers`);
  }
  return { via: complexity ? 'auto' : 'tier', tier, complexity, candidates };
}

/** resolveModel, except that an empty tier is not an error yet: its fallback chain may serve. */
async function resolveOrEmptyTier(
  registry: ModelRegistryService,
  requested: string,
): Promise<{ via: 'name' | 'alias' | 'tier'; models: ModelDto[] }> {
  try {
    return await registry.resolveModel(requested);
  } catch (error) {
    if (error instanceof ModelRegistryException && ['fast', 'balanced', 'powerful'].includes(requested)) return { via: 'tier', models: [] };
    throw error;
  }
}
