import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';

/**
 * Deterministic complexity analysis for `model: "auto"`: a cheap, explainable score from
 * surface features of the request. No model is called, so the decision costs microseconds
 * and the same request always routes the same way (cacheable, testable, auditable).
 */

export type ModelTier = 'fast' | 'balanced' | 'powerful';

export const MODEL_TIERS: readonly ModelTier[] = ['fast', 'balanced', 'powerful'];

export interface ComplexityThresholds {
  /** Score at or above which the request goes to `balanced`. */
  balanced: number;
  /** Score at or above which the request goes to `powerful`. */
  powerful: number;
}

export interface ComplexityOptions {
  thresholds?: Partial<ComplexityThresholds>;
}

export interface ComplexityDecision {
  tier: ModelTier;
  /** 0..1, rounded to two decimals. */
  score: number;
  /** Human-readable signals that contributed, strongest first. */
  reasons: string[];
  /** Estimated prompt tokens (about 4 characters a token). */
  estimatedTokens: number;
}

export const DEFAULT_COMPLEXITY_THRESHOLDS: Readonly<ComplexityThresholds> = { balanced: 0.3, powerful: 0.6 };

interface Signal {
  weight: number;
  reason: string;
}

const CHARS_PER_TOKEN = 4;

const MULTI_STEP_CUES = [
  /\bstep[- ]by[- ]step\b/i,
  /\b(first|firstly)\b[\s\S]{0,200}\b(then|next|after that|finally)\b/i,
  /\bmulti[- ]step\b/i,
  /\bplan\b[\s\S]{0,40}\b(out|steps?)\b/i,
];
const REASONING_CUES = [
  /\b(explain why|reason(ing)? (about|through)|analy[sz]e|compare|contrast|trade-?offs?|evaluate|critique|justify|prove|derive)\b/i,
  /\b(pros and cons|root cause|in depth|in detail|think carefully)\b/i,
];
const CODE_CUES = [
  /```/,
  /\b(function|def|class|import|const|return|SELECT|public static)\b[^\n]*[({;:=]/,
  /\b(refactor|debug|stack trace|compile|regex|unit test)\b/i,
];
const MATH_CUES = [
  /\b(integral|derivative|equation|theorem|proof|matrix|eigen\w*|probability|polynomial|lemma)\b/i,
  /\\(frac|sum|int|sqrt)\b|\$\$/,
  /\d+\s*[-+*/^]\s*\d+\s*[-+*/^=]\s*\d+/,
];

/**
 * Scores the request. The last user message carries the task; earlier messages, system
 * prompts and tool results count as attached context (RAG sources, documents, history).
 */
export function analyseComplexity(messages: readonly ChatMessage[], options: ComplexityOptions = {}): ComplexityDecision {
  const thresholds = resolveThresholds(options.thresholds);
  const lastUserIndex = findLastIndex(messages, (message) => message.role === 'user');
  const task = lastUserIndex >= 0 ? messages[lastUserIndex].content : '';
  const contextChars = messages.reduce((sum, message, index) => (index === lastUserIndex ? sum : sum + message.content.length), 0);
  const taskTokens = Math.ceil(task.length / CHARS_PER_TOKEN);
  const contextTokens = Math.ceil(contextChars / CHARS_PER_TOKEN);

  const signals: Signal[] = [];
  if (taskTokens >= 400) signals.push({ weight: 0.25, reason: `long request (${formatTokens(taskTokens)} tokens)` });
  else if (taskTokens >= 100) signals.push({ weight: 0.12, reason: `medium-length request (${formatTokens(taskTokens)} tokens)` });

  if (contextTokens >= 2000) signals.push({ weight: 0.3, reason: `${formatTokens(contextTokens)} tokens of context` });
  else if (contextTokens >= 500) signals.push({ weight: 0.15, reason: `${formatTokens(contextTokens)} tokens of context` });

  if (/```/.test(task)) signals.push({ weight: 0.3, reason: 'code block' });
  else if (CODE_CUES.some((cue) => cue.test(task))) signals.push({ weight: 0.2, reason: 'code' });

  if (MATH_CUES.some((cue) => cue.test(task))) signals.push({ weight: 0.25, reason: 'maths' });

  const enumerated = (task.match(/^\s*(\d+[.)]|[-*])\s+\S/gm) ?? []).length;
  if (MULTI_STEP_CUES.some((cue) => cue.test(task)) || enumerated >= 3) {
    signals.push({ weight: 0.25, reason: 'multi-step instructions' });
  }
  if (REASONING_CUES.some((cue) => cue.test(task))) signals.push({ weight: 0.2, reason: 'reasoning cues' });

  const questions = (task.match(/\?/g) ?? []).length;
  if (questions >= 3) signals.push({ weight: 0.1, reason: `${questions} questions` });

  if (messages.some((message) => message.images?.length)) signals.push({ weight: 0.1, reason: 'images attached' });

  signals.sort((a, b) => b.weight - a.weight);
  const score =
    Math.round(
      Math.min(
        1,
        signals.reduce((sum, signal) => sum + signal.weight, 0),
      ) * 100,
    ) / 100;
  const tier: ModelTier = score >= thresholds.powerful ? 'powerful' : score >= thresholds.balanced ? 'balanced' : 'fast';
  const reasons = signals.length > 0 ? signals.map((signal) => signal.reason) : ['short, simple request'];
  return { tier, score, reasons, estimatedTokens: taskTokens + contextTokens };
}

function resolveThresholds(overrides: Partial<ComplexityThresholds> = {}): ComplexityThresholds {
  const thresholds = { ...DEFAULT_COMPLEXITY_THRESHOLDS, ...overrides };
  const valid = (value: number) => Number.isFinite(value) && value > 0 && value <= 1;
  if (!valid(thresholds.balanced) || !valid(thresholds.powerful) || thresholds.balanced >= thresholds.powerful) {
    throw new RangeError(
      `Complexity thresholds must satisfy 0 < balanced < powerful <= 1 (got ${thresholds.balanced}, ${thresholds.powerful})`,
    );
  }
  return thresholds;
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let index = items.length - 1; index >= 0; index--) if (predicate(items[index])) return index;
  return -1;
}

function formatTokens(tokens: number): string {
  return tokens >= 1000 ? `${(tokens / 1000).toFixed(1)}k` : String(tokens);
}
