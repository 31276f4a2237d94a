import { describe, expect, it } from 'vitest';
import { analyseComplexity } from 'src/modules/model-router/complexity';
import { selectAgent } from 'src/modules/agents/engine/agent-selection';

const pick = (query: string, allowed: string[] = [], hasKnowledgeBases = false) =>
  selectAgent(query, { allowed, hasKnowledgeBases, complexity: analyseComplexity([{ role: 'user', content: query }]) });

describe('selectAgent', () => {
  it('picks an agent from cues in the request', () => {
    expect(pick('Calculate the average of 3, 5 and 9')).toBe('analyst');
    expect(pick('What is the derivative of x^2?')).toBe('analyst');
    expect(pick('Find sources about the treaty')).toBe('researcher');
    expect(pick('What does the handbook say about leave?', [], true)).toBe('researcher');
    expect(pick('Write a short email to the team')).toBe('writer');
    expect(pick('Hello, how are you?')).toBe('general');
  });

  it('stays within the agents the caller allowed', () => {
    expect(pick('Calculate 2 + 2', ['writer', 'researcher'])).toBe('writer');
    expect(pick('Calculate 2 + 2', ['general', 'writer'])).toBe('general');
    expect(pick('Hello', ['translator'])).toBe('translator');
  });
});
