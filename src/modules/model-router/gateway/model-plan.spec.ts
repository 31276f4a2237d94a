import { describe, expect, it } from 'vitest';
import { planModels, PlanOptions } from 'src/modules/model-router/gateway/model-plan';
import type { ModelDto } from 'src/modules/model-router/registry/dto/models.dto';
import { ModelRegistryRepository } from 'src/modules/model-router/registry/model-registry.repository';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import type { Model } from 'src/modules/model-router/registry/model.entity';

function model(name: string, tier: Model['tier'], priority = 100, aliases: string[] = []): Model {
  return {
    id: name,
    name,
    aliases,
    tier,
    priority,
    providerKind: 'ollama',
    upstreamId: null,
    enabled: true,
    contextLength: null,
    supportsTools: false,
    supportsVision: false,
    supportsEmbeddings: false,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

function registryOf(models: Model[]): ModelRegistryService {
  const sorted = [...models].sort((a, b) => a.tier.localeCompare(b.tier) || a.priority - b.priority || a.name.localeCompare(b.name));
  const repository = { listModels: () => Promise.resolve(sorted) } as unknown as ModelRegistryRepository;
  return new ModelRegistryService(repository);
}

const options: PlanOptions = {
  tierFallback: { powerful: ['balanced', 'fast'], balanced: ['fast'] },
  autoThresholds: { balanced: 0.3, powerful: 0.6 },
};
const names = (candidates: { model: ModelDto }[]): string[] => candidates.map((candidate) => candidate.model.name);

describe('planModels', () => {
  const registry = registryOf([
    model('small-b', 'fast', 20),
    model('small-a', 'fast', 10, ['small']),
    model('mid', 'balanced'),
    model('big', 'powerful'),
  ]);

  it('a name or alias is that model only: no fallback for a caller who named one', async () => {
    expect(names((await planModels(registry, 'small', [], options)).candidates)).toEqual(['small-a']);
    expect(await planModels(registry, 'mid', [], options)).toMatchObject({ via: 'name', tier: 'balanced' });
  });

  it('a tier is its models by priority, then the fallback chain in order', async () => {
    const plan = await planModels(registry, 'powerful', [], options);
    expect(names(plan.candidates)).toEqual(['big', 'mid', 'small-a', 'small-b']);
    expect(plan.candidates.map((candidate) => candidate.fromFallbackTier)).toEqual([false, true, true, true]);
    expect(names((await planModels(registry, 'fast', [], options)).candidates)).toEqual(['small-a', 'small-b']);
  });

  it('auto picks the tier by complexity and explains it', async () => {
    const plan = await planModels(registry, 'auto', [{ role: 'user', content: 'hi' }], options);
    expect(plan).toMatchObject({ via: 'auto', tier: 'fast', complexity: { tier: 'fast' } });
    const hard = 'Explain step by step why this proof fails, then compare the trade-offs:\n```ts\nlet x = 1;\n```';
    expect(await planModels(registry, 'auto', [{ role: 'user', content: hard }], options)).toMatchObject({ tier: 'powerful' });
  });

  it('an empty tier falls through to its chain, and only then is an error', async () => {
    const noBalanced = registryOf([model('small-a', 'fast')]);
    expect(names((await planModels(noBalanced, 'balanced', [], options)).candidates)).toEqual(['small-a']);
    await expect(planModels(noBalanced, 'balanced', [], { ...options, tierFallback: {} })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(planModels(registry, 'nope', [], options)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});
