import type { ComplexityDecision } from 'src/modules/model-router/complexity';
import type { BuiltInAgentName } from 'src/modules/agents/definitions/built-in-agents';

/**
 * Which single agent takes a request when the caller named none: a cheap, explainable choice
 * from cues in the request (like the router's complexity analysis), `general` by default.
 */
const CUES: [BuiltInAgentName, RegExp][] = [
  [
    'analyst',
    /\b(calculate|compute|how (much|many)|sum|total|average|mean|median|percent(age)?|statistics?|chart|plot|graph|csv|data ?set|trend|growth|ratio)\b/i,
  ],
  [
    'researcher',
    /\b(find|search|research|look up|sources?|according to|documents?|knowledge base|fact[- ]check|cite|citations?|evidence)\b/i,
  ],
  ['writer', /\b(write|draft|rewrite|edit|proofread|summari[sz]e|essay|e-?mail|letter|article|blog|post|story|poem)\b/i],
];

export function selectAgent(
  query: string,
  options: { allowed: readonly string[]; hasKnowledgeBases: boolean; complexity: ComplexityDecision },
): string {
  const candidates = options.allowed.length > 0 ? options.allowed : null;
  const mathematical = options.complexity.reasons.includes('maths');
  for (const [agent, cue] of CUES) {
    const matches = cue.test(query) || (agent === 'analyst' && mathematical) || (agent === 'researcher' && options.hasKnowledgeBases);
    if (matches && (!candidates || candidates.includes(agent))) return agent;
  }
  if (candidates) return candidates.includes('general') ? 'general' : candidates[0];
  return 'general';
}
