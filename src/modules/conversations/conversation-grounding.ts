import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { AppException } from 'src/common/errors/app.exception';
import { toErrorBody } from 'src/common/errors/error-body';
import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';
import { GroundingResult, KnowledgeRetriever, MAX_GROUNDING_QUERY_CHARS } from 'src/modules/rag/grounding';
import { buildGroundedContext, ContextLimits } from 'src/modules/conversations/conversation-context';
import type { MessageGrounding } from 'src/modules/conversations/conversation-message.entity';
import { ConversationErrorCode, ConversationException } from 'src/modules/conversations/conversations.exception';

/** Sources given to the model on each grounded turn (as many as `ask` gives by default). */
export const GROUNDING_SOURCES = 6;
/** The previous question is added to the query only when this much of it fits: less says nothing. */
const MIN_CONTEXT_CHARS = 40;

interface TextMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface GroundingInput {
  knowledgeBaseIds: string[];
  systemPrompt: string | null;
  /** Earlier messages (oldest first), as the model would see them. */
  history: readonly TextMessage[];
  content: string;
  limits: ContextLimits;
}

/** A grounded turn's context, and what its answer's citations are drawn from. */
export interface GroundedTurn {
  messages: ChatMessage[];
  grounding: MessageGrounding;
}

/**
 * Grounds a turn in its conversation's knowledge bases: retrieval (by the `rag` role, as the
 * sender with their permissions now), then the prompt with numbered sources.
 */
@Injectable()
export class ConversationGrounding {
  constructor(private readonly retriever: KnowledgeRetriever) {}

  async ground(auth: AuthContext, input: GroundingInput): Promise<GroundedTurn> {
    const result = await this.retrieve(auth, input);
    const { messages, numbered } = buildGroundedContext(input.systemPrompt, input.history, input.content, result.sources, input.limits);
    return {
      messages,
      grounding: {
        knowledgeBases: result.knowledgeBases,
        sources: numbered.map(({ n, source }) => ({
          n,
          knowledgeBaseId: source.knowledgeBaseId,
          chunkId: source.chunkId,
          documentId: source.documentId,
          documentName: source.documentName,
          page: source.page,
          start: source.start,
          end: source.end,
        })),
      },
    };
  }

  private async retrieve(auth: AuthContext, input: GroundingInput): Promise<GroundingResult> {
    try {
      return await this.retriever.retrieve({
        caller: { workspaceId: auth.workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId ?? null, permissions: [...auth.permissions] },
        knowledgeBaseIds: input.knowledgeBaseIds,
        queries: groundingQueries(input.content, input.history),
        limit: GROUNDING_SOURCES,
      });
    } catch (error) {
      // The caller's own limits (a token quota hit while embedding the query) keep their code.
      if (error instanceof AppException && Number(error.status) < 500) throw error;
      const cause = toErrorBody(error);
      throw new ConversationException(
        ConversationErrorCode.GroundingUnavailable,
        `This conversation is grounded in knowledge bases, but they could not be searched (${cause.code}: ${cause.message}). ` +
          'Remove its knowledge bases to chat without them.',
        { cause: cause.code },
      );
    }
  }
}

/**
 * What the knowledge bases are searched with: the message, and, after an earlier question,
 * the two together, so that a follow-up ("and how long does that take?") finds what the
 * conversation is about while a change of subject still finds its own sources.
 */
export function groundingQueries(content: string, history: readonly TextMessage[]): string[] {
  const message = content.trim().slice(0, MAX_GROUNDING_QUERY_CHARS);
  const previous = history.findLast((m) => m.role === 'user')?.content.trim();
  const room = MAX_GROUNDING_QUERY_CHARS - message.length - 1;
  if (!previous || room < MIN_CONTEXT_CHARS) return [message];
  return [message, `${previous.slice(-room)}\n${message}`];
}
