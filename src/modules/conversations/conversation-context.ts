import { GatewayErrorCode, GatewayException } from 'src/modules/model-router/gateway/gateway.exception';
import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';
import { GROUNDING_SYSTEM_PROMPT, NumberedSource, PromptSource, sourcedQuestion } from 'src/modules/rag/grounding';

export interface ContextLimits {
  /** Earlier messages sent at most (CONVERSATION_MAX_CONTEXT_MESSAGES). */
  maxHistoryMessages: number;
  /** Characters of message text in the whole request (CHAT_MAX_PROMPT_CHARS, as the gateway counts them). */
  maxPromptChars: number;
}

interface TextMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * A new message that cannot fit even without any history is refused before anything is stored.
 * `frameChars`: what wraps the message besides (a grounded turn's sources block, empty).
 */
export function assertPromptFits(systemPrompt: string | null, content: string, maxPromptChars: number, frameChars = 0): void {
  const characters = (systemPrompt?.length ?? 0) + content.length + frameChars;
  if (characters <= maxPromptChars) return;
  const what = !content ? 'the system prompt is' : systemPrompt ? 'the message and the system prompt are' : 'the message is';
  throw new GatewayException(GatewayErrorCode.PromptTooLarge, `${what} ${characters} characters; the limit is ${maxPromptChars}`, {
    characters,
    limit: maxPromptChars,
  });
}

/**
 * What the model is sent: the system prompt, the newest earlier messages that fit both
 * limits, and the new message. History is cut, never the new message, so a long
 * conversation keeps working; it is cut at a user message so the model never sees an
 * answer without its question.
 */
export function buildContext(
  systemPrompt: string | null,
  history: readonly TextMessage[],
  content: string,
  limits: ContextLimits,
): ChatMessage[] {
  let budget = limits.maxPromptChars - (systemPrompt?.length ?? 0) - content.length;
  let start = history.length;
  while (start > 0 && history.length - start < limits.maxHistoryMessages && history[start - 1].content.length <= budget) {
    budget -= history[start - 1].content.length;
    start -= 1;
  }
  while (start < history.length && history[start].role !== 'user') start += 1;
  return [
    ...(systemPrompt ? [{ role: 'system' as const, content: systemPrompt }] : []),
    ...history.slice(start).map(({ role, content: text }) => ({ role, content: text })),
    { role: 'user', content },
  ];
}

/** A grounded conversation's system prompt: the rules for answering from numbered sources, then its own. */
export function groundedSystemPrompt(systemPrompt: string | null): string {
  return systemPrompt ? `${GROUNDING_SYSTEM_PROMPT}\n\n${systemPrompt}` : GROUNDING_SYSTEM_PROMPT;
}

/**
 * A grounded turn: the grounding rules with the system prompt, the newest earlier messages that
 * fit, and the new message after its numbered sources (or a note that none were found). The
 * sources are placed first and the history fills what they leave: they are what this turn's
 * answer must rest on, and there are few of them.
 */
export function buildGroundedContext<S extends PromptSource>(
  systemPrompt: string | null,
  history: readonly TextMessage[],
  content: string,
  sources: readonly S[],
  limits: ContextLimits,
): { messages: ChatMessage[]; numbered: NumberedSource<S>[] } {
  const system = groundedSystemPrompt(systemPrompt);
  const grounded = sourcedQuestion(content, sources, limits.maxPromptChars - system.length);
  return { messages: buildContext(system, history, grounded.content, limits), numbered: grounded.numbered };
}
