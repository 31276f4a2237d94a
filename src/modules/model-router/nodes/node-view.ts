import { nodeSlug } from 'src/modules/model-router/nodes/node-id';
import { NodeDto, NodeLoadedModelDto } from 'src/modules/model-router/nodes/dto/nodes.dto';
import { PoolNode } from 'src/modules/model-router/node-pool';

/** Ollama reports keep_alive -1 as an expiry about 292 years ahead; anything past a century is "pinned". */
const PINNED_AFTER_MS = 100 * 365 * 24 * 3600_000;

export function toNodeDto(node: PoolNode, now = Date.now()): NodeDto {
  const details = new Map(node.loadedDetails.map((model) => [model.name, model]));
  // `loaded` may also hold a model the router just used, before the next /api/ps poll.
  const loaded: NodeLoadedModelDto[] = [...node.loaded].sort().map((name) => {
    const expiresAt = details.get(name)?.expiresAt ?? null;
    return {
      name,
      sizeVramBytes: details.get(name)?.sizeVramBytes ?? null,
      expiresAt,
      pinned: expiresAt !== null && expiresAt.getTime() - now > PINNED_AFTER_MS,
    };
  });
  return {
    id: nodeSlug(node.url),
    providerId: node.id,
    url: node.url,
    source: node.source,
    healthy: node.healthy,
    circuit: node.breaker.state,
    lastSeenAt: node.lastSeenAt,
    lastError: node.lastError,
    models: [...(node.models ?? [])].sort(),
    loaded,
    inFlight: [...node.inFlight]
      .filter(([, requests]) => requests > 0)
      .map(([model, requests]) => ({ model, requests }))
      .sort((a, b) => a.model.localeCompare(b.model)),
  };
}
