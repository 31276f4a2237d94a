import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { ChatGatewayService, estimatePromptTokens } from 'src/modules/model-router/gateway/chat-gateway.service';
import type { GatewayChatRequest } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { ChatMessage, ChatToolCall, FinishReason, TokenUsage } from 'src/modules/model-router/providers/llm-provider';
import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import { RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import type { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import type { StepRouting } from 'src/modules/agents/runs/agent-step.entity';

/** Below this many tokens left for an answer, a call is not worth making. */
const MIN_COMPLETION_TOKENS = 16;

export interface ModelCall {
  run: Pick<AgentRun, 'id' | 'workspaceId' | 'userId' | 'apiKeyId' | 'limits'>;
  taskId: string;
  model: string;
  messages: ChatMessage[];
  request: Pick<GatewayChatRequest, 'tools' | 'responseFormat' | 'temperature'>;
  /** Tokens the run has used so far. */
  usedTokens: number;
  /** Publish the text as `token` events while it is generated (the final answer). */
  streamTokens: boolean;
  signal: AbortSignal;
}

export interface ModelReply {
  content: string;
  toolCalls?: ChatToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
  routing: StepRouting;
}

/** One model call of a run through the chat gateway (quotas and usage apply), held to the run's token budget. */
@Injectable()
export class ModelCaller {
  constructor(
    private readonly gateway: ChatGatewayService,
    private readonly publisher: RunEventsPublisher,
    private readonly config: AppConfig,
  ) {}

  async call(input: ModelCall): Promise<ModelReply> {
    const { run } = input;
    const remaining = run.limits.tokenBudget - input.usedTokens - estimatePromptTokens(input.messages);
    if (remaining < MIN_COMPLETION_TOKENS) {
      throw new AgentsException(
        AgentsErrorCode.TokenBudgetExhausted,
        `The run has used ${input.usedTokens} of its ${run.limits.tokenBudget} tokens; not enough is left for the next model call`,
      );
    }
    const { routing, chunks } = await this.gateway.stream(
      {
        model: input.model,
        messages: input.messages,
        maxTokens: Math.min(remaining, this.config.router.maxCompletionTokens),
        ...input.request,
      },
      { workspaceId: run.workspaceId, userId: run.userId, apiKeyId: run.apiKeyId },
      { signal: input.signal },
    );
    let content = '';
    const toolCalls: ChatToolCall[] = [];
    let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let finishReason: FinishReason = 'stop';
    // Text that arrives within one turn of the event loop goes out as one event: a model's
    // tokens come tens of ms apart and each is sent at once, but a burst is one message.
    let unsent = '';
    let flushQueued = false;
    const flush = () => {
      flushQueued = false;
      if (!unsent) return;
      this.publisher.publish({ type: 'token', runId: run.id, taskId: input.taskId, delta: unsent });
      unsent = '';
    };
    try {
      for await (const chunk of chunks) {
        if (chunk.content) {
          content += chunk.content;
          if (input.streamTokens) {
            unsent += chunk.content;
            if (!flushQueued) {
              flushQueued = true;
              setImmediate(flush);
            }
          }
        }
        if (chunk.toolCalls) toolCalls.push(...chunk.toolCalls);
        if (chunk.done) {
          usage = chunk.usage ?? usage;
          finishReason = chunk.finishReason ?? finishReason;
        }
      }
    } finally {
      flush();
    }
    return {
      content,
      ...(toolCalls.length > 0 && { toolCalls }),
      finishReason,
      usage,
      routing: {
        requested: routing.requested,
        model: routing.model,
        nodeId: routing.nodeId,
        provider: routing.provider,
        cached: routing.cached,
      },
    };
  }
}
