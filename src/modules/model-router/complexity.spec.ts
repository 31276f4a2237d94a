import { describe, expect, it } from 'vitest';
import { analyseComplexity } from 'src/modules/model-router/complexity';
import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';

const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('analyseComplexity', () => {
  it('sends a short greeting to the fast tier', () => {
    const decision = analyseComplexity([user('Hi! What is the capital of France?')]);
    expect(decision).toEqual({ tier: 'fast', score: 0, reasons: ['short, simple request'], estimatedTokens: 9 });
  });

  it('sends a code question to the balanced tier', () => {
    const decision = analyseComplexity([user('Why does this throw?\n```js\nconst x = null; x.y;\n```')]);
    expect(decision.tier).toBe('balanced');
    expect(decision.reasons).toEqual(['code block']);
    expect(decision.score).toBe(0.3);
  });

  it('sends a reasoning question to the fast tier when it is the only signal', () => {
    const decision = analyseComplexity([user('Compare cats and dogs.')]);
    expect(decision.tier).toBe('fast');
    expect(decision.reasons).toEqual(['reasoning cues']);
  });

  it('sends multi-step code work over a large context to the powerful tier', () => {
    const documentation = 'The payment service retries failed charges with exponential backoff. '.repeat(200);
    const decision = analyseComplexity([
      { role: 'system', content: `Project documentation:\n${documentation}` },
      user('First read the docs, then refactor this step by step and explain why:\n```ts\nfunction charge() { return retry(); }\n```'),
    ]);
    expect(decision.tier).toBe('powerful');
    expect(decision.score).toBeGreaterThanOrEqual(0.6);
    expect(decision.reasons).toEqual(['3.5k tokens of context', 'code block', 'multi-step instructions', 'reasoning cues']);
  });

  it('recognises maths and enumerated steps', () => {
    const decision = analyseComplexity([user('Solve:\n1. Find the derivative of x^2\n2. Integrate it\n3. Check 2 + 3 = 5')]);
    expect(decision.reasons).toContain('maths');
    expect(decision.reasons).toContain('multi-step instructions');
    expect(decision.tier).toBe('balanced');
  });

  it('counts earlier turns as context, not as the task', () => {
    const history: ChatMessage[] = Array.from({ length: 20 }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: 'a'.repeat(200),
    }));
    const decision = analyseComplexity([...history, user('ok thanks')]);
    expect(decision.reasons).toEqual(['1.0k tokens of context']);
    expect(decision.estimatedTokens).toBe(1000 + 3);
  });

  it('scores long requests and caps the score at 1', () => {
    const long = `Explain why, step by step, with proof: ${'```py\nprint(1)\n``` integral '.repeat(200)}`;
    const decision = analyseComplexity([{ role: 'system', content: 'x'.repeat(10_000) }, user(long)]);
    expect(decision.score).toBe(1);
    expect(decision.tier).toBe('powerful');
    expect(decision.reasons[0]).toMatch(/code block|tokens of context/);
  });

  it('honours configured thresholds', () => {
    const messages = [user('Why does this throw?\n```js\nx.y\n```')];
    expect(analyseComplexity(messages, { thresholds: { balanced: 0.5, powerful: 0.9 } }).tier).toBe('fast');
    expect(analyseComplexity(messages, { thresholds: { balanced: 0.1, powerful: 0.25 } }).tier).toBe('powerful');
  });

  it('rejects inconsistent thresholds', () => {
    expect(() => analyseComplexity([user('hi')], { thresholds: { balanced: 0.7, powerful: 0.5 } })).toThrow(RangeError);
    expect(() => analyseComplexity([user('hi')], { thresholds: { powerful: Number.NaN } })).toThrow(RangeError);
  });

  it('is deterministic and handles a request with no user message', () => {
    const messages = [{ role: 'system', content: 'You are helpful.' } as ChatMessage];
    expect(analyseComplexity(messages)).toEqual(analyseComplexity(messages));
    expect(analyseComplexity([]).tier).toBe('fast');
  });
});
