import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { AppException, CommonErrors } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { NodePool, PoolNode } from 'src/modules/model-router/node-pool';
import { NodeDto } from 'src/modules/model-router/nodes/dto/nodes.dto';
import { parseKeepAlive } from 'src/modules/model-router/nodes/keep-alive';
import { parseModelName, ParsedModelName, sameModel } from 'src/modules/model-router/nodes/model-name';
import { isNodeIdShape, nodeSlug } from 'src/modules/model-router/nodes/node-id';
import { toNodeDto } from 'src/modules/model-router/nodes/node-view';
import { NodesErrorCode, NodesException } from 'src/modules/model-router/nodes/nodes.exception';
import { LlmProvider, ProviderError } from 'src/modules/model-router/providers/llm-provider';
import type { PullProgress } from 'src/modules/model-router/providers/ollama.provider';

/** What a provider needs to be managed from here; OllamaProvider is one. */
interface ModelManagingProvider {
  pull(model: string, onProgress?: (progress: PullProgress) => void, signal?: AbortSignal): Promise<PullProgress>;
  load(model: string, keepAlive: string | number, signal?: AbortSignal): Promise<void>;
  unload(model: string, signal?: AbortSignal): Promise<void>;
}

function canManageModels(provider: LlmProvider): provider is LlmProvider & ModelManagingProvider {
  const candidate = provider as Partial<ModelManagingProvider>;
  return typeof candidate.pull === 'function' && typeof candidate.load === 'function' && typeof candidate.unload === 'function';
}

export interface PullOptions {
  onProgress?: (progress: PullProgress) => void;
  /** Cancels the pull (the client went away). */
  signal?: AbortSignal;
  /** False for a streamed pull: it runs as long as its client stays, however long the download takes. */
  bounded: boolean;
}

interface Operable {
  node: PoolNode;
  provider: ModelManagingProvider;
}

/**
 * Admin view and control of the Ollama nodes: what each has on disk and in memory, and
 * pull, load (keep_alive) and unload on one node. Nodes come only from the pool
 * (OLLAMA_URLS / OLLAMA_DNS); a caller never supplies an address.
 */
@Injectable()
export class NodesService {
  constructor(
    private readonly pool: NodePool,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  list(): NodeDto[] {
    return this.pool.nodes.map((node) => toNodeDto(node)).sort((a, b) => a.id.localeCompare(b.id));
  }

  get(nodeId: string): NodeDto {
    return toNodeDto(this.find(nodeId));
  }

  /** Everything checkable before the node is contacted, so a streamed pull can still fail with a proper status. */
  checkPull(nodeId: string, model: string): void {
    this.operable(nodeId);
    this.pullableName(model);
  }

  async pull(auth: AuthContext, nodeId: string, model: string, options: PullOptions): Promise<NodeDto> {
    const { node, provider } = this.operable(nodeId);
    this.pullableName(model);
    await this.run(auth, node, AuditAction.NodeModelPulled, { model }, options.signal, options.bounded, (signal) =>
      provider.pull(model, options.onProgress, signal),
    );
    return toNodeDto(node);
  }

  async load(auth: AuthContext, nodeId: string, model: string, keepAlive?: string | number | null): Promise<NodeDto> {
    const { node, provider } = this.operable(nodeId);
    await this.requireOnDisk(node, this.parsedName(model), model);
    const keep = keepAlive === undefined || keepAlive === null ? -1 : parseKeepAlive(keepAlive);
    if (keep === null) throw CommonErrors.validation('keepAlive must be -1, whole seconds, or a duration like "30m"');
    await this.run(auth, node, AuditAction.NodeModelLoaded, { model, keepAlive: keep }, undefined, true, (signal) =>
      provider.load(model, keep, signal),
    );
    return toNodeDto(node);
  }

  async unload(auth: AuthContext, nodeId: string, model: string): Promise<NodeDto> {
    const { node, provider } = this.operable(nodeId);
    const parsed = this.parsedName(model);
    await this.requireOnDisk(node, parsed, model);
    await this.run(auth, node, AuditAction.NodeModelUnloaded, { model }, undefined, true, (signal) => provider.unload(model, signal));
    // Ollama has accepted the unload; /api/ps may list the model until its memory is freed, and
    // placement must stop preferring this node now.
    for (const name of node.loaded) if (sameModel(name, parsed)) node.loaded.delete(name);
    node.loadedDetails = node.loadedDetails.filter((loaded) => !sameModel(loaded.name, parsed));
    return toNodeDto(node);
  }

  private find(nodeId: string): PoolNode {
    if (!isNodeIdShape(nodeId)) {
      throw new NodesException(NodesErrorCode.InvalidNodeId, 'nodeId must be a node id such as gpu-1-11434 or ollama:http://gpu-1:11434');
    }
    const node = this.pool.nodes.find((candidate) => nodeSlug(candidate.url) === nodeId || candidate.id === nodeId);
    if (!node) throw new NodesException(NodesErrorCode.NodeNotFound, `No node ${nodeId} in the pool`, { nodeId });
    return node;
  }

  private operable(nodeId: string): Operable {
    const node = this.find(nodeId);
    if (!canManageModels(node.provider)) {
      throw new NodesException(NodesErrorCode.Unsupported, `Node ${nodeId} cannot pull, load or unload models`, { nodeId });
    }
    if (!node.healthy) throw this.unhealthy(node);
    return { node, provider: node.provider };
  }

  private unhealthy(node: PoolNode): NodesException {
    const reason = node.lastError ? `: ${node.lastError}` : '';
    return new NodesException(NodesErrorCode.NodeUnhealthy, `Node ${nodeSlug(node.url)} failed its last health check${reason}`, {
      nodeId: nodeSlug(node.url),
    });
  }

  private parsedName(model: string): ParsedModelName {
    const parsed = parseModelName(model);
    if (!parsed) throw CommonErrors.validation('model must be an Ollama model name such as llama3.1:8b');
    return parsed;
  }

  private pullableName(model: string): void {
    const { host } = this.parsedName(model);
    if (host !== undefined && !this.config.router.pullRegistries.includes(host)) {
      throw new NodesException(
        NodesErrorCode.RegistryNotAllowed,
        `Pulling from ${host} is not allowed; allowed registries (OLLAMA_PULL_REGISTRIES): ${this.config.router.pullRegistries.join(', ')}`,
        { host },
      );
    }
  }

  /** Trusts the last probe, but looks again before refusing: the model may have been pulled since. */
  private async requireOnDisk(node: PoolNode, parsed: ParsedModelName, model: string): Promise<void> {
    const onDisk = () => [...(node.models ?? [])].some((name) => sameModel(name, parsed));
    if (onDisk()) return;
    await this.pool.probe(node);
    if (!node.healthy) throw this.unhealthy(node);
    if (!onDisk()) throw this.notPulled(node, model);
  }

  private notPulled(node: PoolNode, model: string): NodesException {
    const nodeId = nodeSlug(node.url);
    return new NodesException(NodesErrorCode.ModelNotPulled, `Node ${nodeId} does not have ${model}; pull it first`, { nodeId, model });
  }

  /** Runs one operation on the node with its deadline, then re-reads the node and records the outcome. */
  private async run(
    auth: AuthContext,
    node: PoolNode,
    action: AuditAction,
    metadata: Record<string, unknown>,
    callerSignal: AbortSignal | undefined,
    bounded: boolean,
    operation: (signal: AbortSignal | undefined) => Promise<unknown>,
  ): Promise<void> {
    const timeout = bounded ? AbortSignal.timeout(this.config.router.adminTimeoutMs) : undefined;
    const signals = [callerSignal, timeout].filter((signal): signal is AbortSignal => signal !== undefined);
    try {
      await operation(signals.length > 0 ? AbortSignal.any(signals) : undefined);
    } catch (error) {
      const failure = this.toNodeError(error, node, String(metadata.model), {
        timedOut: timeout?.aborted ?? false,
        aborted: callerSignal?.aborted ?? false,
      });
      // The node's state may have changed either way (half a pull, a crash): look again.
      await this.pool.probe(node);
      await this.record(auth, node, action, {
        ...metadata,
        outcome: 'failed',
        error: failure instanceof AppException ? failure.code : 'INTERNAL_ERROR',
      });
      throw failure;
    }
    await this.pool.probe(node);
    await this.record(auth, node, action, { ...metadata, outcome: 'succeeded' });
  }

  private toNodeError(error: unknown, node: PoolNode, model: string, state: { timedOut: boolean; aborted: boolean }): unknown {
    if (!(error instanceof ProviderError)) return error;
    const nodeId = nodeSlug(node.url);
    const details = { nodeId, model };
    if (state.timedOut) {
      return new NodesException(
        NodesErrorCode.OperationTimeout,
        `Node ${nodeId} did not finish within ${this.config.router.adminTimeoutMs} ms (OLLAMA_ADMIN_TIMEOUT_MS); a streamed pull (Accept: text/event-stream) has no time limit`,
        details,
      );
    }
    if (state.aborted) {
      return new NodesException(NodesErrorCode.OperationAborted, 'The caller went away; the operation was cancelled', details);
    }
    if (error.status === 404) return this.notPulled(node, model);
    if (error.status !== undefined && error.status >= 400 && error.status < 500) {
      return new NodesException(NodesErrorCode.OperationRejected, `Node ${nodeId} refused: ${error.message}`, details);
    }
    return new NodesException(NodesErrorCode.OperationFailed, `Node ${nodeId} failed: ${error.message}`, details);
  }

  private async record(auth: AuthContext, node: PoolNode, action: AuditAction, metadata: Record<string, unknown>): Promise<void> {
    await this.audit.record({
      action,
      actor: auth,
      // The column holds 64 characters; the full URL goes in the metadata.
      target: { type: 'ollama-node', id: nodeSlug(node.url).slice(0, 64) },
      metadata: { ...metadata, url: node.url },
    });
  }
}
