import { describe, expect, it } from 'vitest';
import { GROUNDING_SYSTEM_PROMPT, SOURCES_FRAME_CHARS } from 'src/modules/rag/grounding';
import { assertPromptFits, buildContext, buildGroundedContext, groundedSystemPrompt } from 'src/modules/conversations/conversation-context';

const turn = (question: string, answer: string) => [
  { role: 'user' as const, content: question },
  { role: 'assistant' as const, content: answer },
];

describe('buildContext', () => {
  const history = [...turn('q1', 'a1'), ...turn('q2', 'a2'), ...turn('q3', 'a3')];

  it('sends the system prompt, the history in order and the new message', () => {
    expect(buildContext('be brief', history, 'q4', { maxHistoryMessages: 10, maxPromptChars: 1000 })).toEqual([
      { role: 'system', content: 'be brief' },
      ...history,
      { role: 'user', content: 'q4' },
    ]);
  });

  it('keeps the newest messages within the message limit, starting at a question', () => {
    const messages = buildContext(null, history, 'q4', { maxHistoryMessages: 3, maxPromptChars: 1000 });
    // The newest three are a2, q3, a3: a2 would be an answer without its question.
    expect(messages.map((message) => message.content)).toEqual(['q3', 'a3', 'q4']);
  });

  it('keeps the newest messages that fit the character budget', () => {
    const long = [...turn('old question', 'x'.repeat(500)), ...turn('recent', 'short')];
    const messages = buildContext('sys', long, 'now', { maxHistoryMessages: 10, maxPromptChars: 100 });
    expect(messages.map((message) => message.content)).toEqual(['sys', 'recent', 'short', 'now']);
  });

  it('sends no history when the limit is zero or nothing fits', () => {
    expect(buildContext(null, history, 'q4', { maxHistoryMessages: 0, maxPromptChars: 1000 })).toEqual([{ role: 'user', content: 'q4' }]);
    expect(buildContext(null, history, 'q4', { maxHistoryMessages: 10, maxPromptChars: 3 })).toEqual([{ role: 'user', content: 'q4' }]);
  });
});

describe('assertPromptFits', () => {
  it('accepts a message at the limit and refuses one over it with PROMPT_TOO_LARGE (413)', () => {
    expect(() => assertPromptFits(null, 'x'.repeat(10), 10)).not.toThrow();
    expect(() => assertPromptFits(null, 'x'.repeat(11), 10)).toThrow(expect.objectContaining({ code: 'PROMPT_TOO_LARGE', status: 413 }));
  });

  it('counts the system prompt, which the model receives with every message', () => {
    expect(() => assertPromptFits('12345', 'x'.repeat(6), 10)).toThrow(/system prompt are 11 characters; the limit is 10/);
  });
});

describe('buildGroundedContext', () => {
  const history = [...turn('q1', 'a'.repeat(300)), ...turn('q2', 'b'.repeat(300))];
  const source = { documentName: 'doc.md', page: null, text: 's'.repeat(400) };

  it('puts the sources first and lets the history fill what they leave', () => {
    const system = groundedSystemPrompt('Be brief.');
    const roomy = buildGroundedContext('Be brief.', history, 'Why?', [source], { maxHistoryMessages: 10, maxPromptChars: 100_000 });
    expect(roomy.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(roomy.messages[0].content).toBe(`${GROUNDING_SYSTEM_PROMPT}\n\nBe brief.`);
    expect(roomy.numbered.map((n) => n.n)).toEqual([1]);

    // Room for the source and one earlier turn only.
    const maxPromptChars = system.length + SOURCES_FRAME_CHARS + 'Why?'.length + 400 + 20 + 2 + 300;
    const tight = buildGroundedContext('Be brief.', history, 'Why?', [source], { maxHistoryMessages: 10, maxPromptChars });
    expect(tight.numbered).toHaveLength(1);
    expect(tight.messages.map((m) => m.content.slice(0, 2))).toEqual([system.slice(0, 2), 'q2', 'bb', '<<']);
    expect(tight.messages.reduce((sum, m) => sum + m.content.length, 0)).toBeLessThanOrEqual(maxPromptChars);
  });

  it('counts the grounding rules and the empty sources block when checking that a message fits', () => {
    const limit = GROUNDING_SYSTEM_PROMPT.length + SOURCES_FRAME_CHARS + 10;
    expect(() => assertPromptFits(groundedSystemPrompt(null), 'x'.repeat(10), limit, SOURCES_FRAME_CHARS)).not.toThrow();
    expect(() => assertPromptFits(groundedSystemPrompt(null), 'x'.repeat(11), limit, SOURCES_FRAME_CHARS)).toThrow(
      expect.objectContaining({ code: 'PROMPT_TOO_LARGE' }),
    );
  });
});
