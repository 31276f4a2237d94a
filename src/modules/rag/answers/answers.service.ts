import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import type { GatewayStream, RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { ChatMessage, TokenUsage } from 'src/modules/model-router/providers/llm-provider';
import { ModelRegistryErrorCode, ModelRegistryException } from 'src/modules/model-router/registry/model-registry.exception';
import { RouterErrorCode, RouterException } from 'src/modules/model-router/router.exception';
import { buildAnswerPrompt } from 'src/modules/rag/answers/answer-prompt';
import { AnswerErrorCode, AnswerException } from 'src/modules/rag/answers/answers.exception';
import { AskCitationDto, AskDto, AskSourceDto, DEFAULT_ASK_SOURCES } from 'src/modules/rag/answers/ask.dto';
import { citedSources } from 'src/modules/rag/answers/citations';
import { SearchService } from 'src/modules/rag/search/search.service';

/** Said, without asking a model, when retrieval finds nothing: a model given no sources could only guess. */
export const NO_SOURCES_ANSWER = 'No relevant sources were found in this knowledge base for this question.';

const TIERS_AND_AUTO = new Set(['auto', 'fast', 'balanced', 'powerful']);
const NO_NODE_CODES = new Set<string>([RouterErrorCode.NoNode]);
const MODEL_NOT_FOUND_CODES = new Set<string>([ModelRegistryErrorCode.ModelNotFound]);

export interface AnswerOutcome {
  answer: string;
  citations: AskCitationDto[];
  usage: TokenUsage;
}

/** A started answer: sources are known and (unless there were none) a model has sent its first token. */
export interface AnswerRun {
  sources: AskSourceDto[];
  routing: RoutingDecision | null;
  /**
   * Passes each piece of the answer to `onDelta` as it arrives. Rejects with the router's
   * error (RouterStreamInterruptedError) when the model stops mid-answer.
   */
  relay(onDelta: (delta: string) => void): Promise<AnswerOutcome>;
}

@Injectable()
export class AnswersService {
  private readonly maxPromptChars: number;

  constructor(
    config: AppConfig,
    private readonly searches: SearchService,
    private readonly gateway: ChatGatewayService,
  ) {
    this.maxPromptChars = config.router.maxPromptChars;
  }

  /** Retrieves and opens the model's stream: every failure up to the first token is thrown from here. */
  async begin(auth: AuthContext, knowledgeBaseId: string, dto: AskDto, signal?: AbortSignal): Promise<AnswerRun> {
    if (!auth.permissions.has(Permission.ModelInvoke)) {
      throw CommonErrors.forbidden(`Asking a knowledge base calls a model: it needs ${Permission.ModelInvoke}`);
    }
    const question = dto.question.trim();
    const { results } = await this.searches.search(auth, knowledgeBaseId, {
      query: question,
      mode: dto.mode,
      limit: dto.limit ?? DEFAULT_ASK_SOURCES,
      documentIds: dto.documentIds,
    });
    const prompt = buildAnswerPrompt(question, results, this.maxPromptChars);
    if (prompt.sources.length === 0) return withoutModel(prompt.sources);

    const model = dto.model ?? 'auto';
    const stream = await this.open(model, prompt.messages, dto, auth, signal);
    return {
      sources: prompt.sources,
      routing: stream.routing,
      relay: (onDelta) => relayAnswer(stream, prompt.sources, onDelta),
    };
  }

  private async open(
    model: string,
    messages: ChatMessage[],
    dto: AskDto,
    auth: AuthContext,
    signal: AbortSignal | undefined,
  ): Promise<GatewayStream> {
    try {
      return await this.gateway.stream(
        { model, messages, temperature: dto.temperature, maxTokens: dto.maxTokens },
        { workspaceId: auth.workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId },
        { signal },
      );
    } catch (error) {
      if (cannotServe(error, model)) {
        throw new AnswerException(
          AnswerErrorCode.NoChatModel,
          `Retrieval works (search this knowledge base), but no chat model can answer: ${(error as Error).message}. ` +
            'Configure one with OLLAMA_URLS, LLAMA_MODEL_PATH or an upstream in the model registry.',
        );
      }
      throw error;
    }
  }
}

/**
 * No node for any candidate, or a tier (or `auto`) with no enabled model at all. A model the
 * caller named that does not exist stays a 404: that is their mistake, not the platform's.
 */
function cannotServe(error: unknown, model: string): boolean {
  if (error instanceof RouterException) return NO_NODE_CODES.has(error.code);
  return error instanceof ModelRegistryException && MODEL_NOT_FOUND_CODES.has(error.code) && TIERS_AND_AUTO.has(model);
}

function withoutModel(sources: AskSourceDto[]): AnswerRun {
  return {
    sources,
    routing: null,
    relay: (onDelta) => {
      onDelta(NO_SOURCES_ANSWER);
      return Promise.resolve({ answer: NO_SOURCES_ANSWER, citations: [], usage: { promptTokens: 0, completionTokens: 0 } });
    },
  };
}

async function relayAnswer(stream: GatewayStream, sources: AskSourceDto[], onDelta: (delta: string) => void): Promise<AnswerOutcome> {
  let answer = '';
  let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  for await (const chunk of stream.chunks) {
    if (chunk.content) {
      answer += chunk.content;
      onDelta(chunk.content);
    }
    if (chunk.done) usage = chunk.usage ?? usage;
  }
  return { answer, citations: citedSources(answer, sources), usage };
}
