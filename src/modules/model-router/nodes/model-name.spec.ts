import { describe, expect, it } from 'vitest';
import { parseModelName, sameModel } from 'src/modules/model-router/nodes/model-name';

describe('parseModelName', () => {
  it('accepts Ollama names and says how /api/tags lists them', () => {
    expect(parseModelName('llama3.1:8b')).toEqual({ listedName: 'llama3.1:8b' });
    expect(parseModelName('llama3.2')).toEqual({ listedName: 'llama3.2:latest' });
    expect(parseModelName('library/qwen2.5:7b-instruct-q4_K_M')).toEqual({ listedName: 'qwen2.5:7b-instruct-q4_K_M' });
    expect(parseModelName('jmorgan/tiny_model')).toEqual({ listedName: 'jmorgan/tiny_model:latest' });
    expect(parseModelName('registry.ollama.ai/library/llama3:8b')).toEqual({ host: 'registry.ollama.ai', listedName: 'llama3:8b' });
    expect(parseModelName('HF.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M')).toEqual({
      host: 'hf.co',
      listedName: 'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M',
    });
    expect(parseModelName('localhost:5000/team/model:v1')?.host).toBe('localhost:5000');
  });

  it('refuses URLs, path traversal, empty parts, odd characters and oversized names', () => {
    for (const name of [
      '',
      'http://evil',
      'https://evil.example/x',
      '../x',
      'a/../b',
      './x',
      '/x',
      'x/',
      'a//b',
      'a/b/c/d',
      '.hidden',
      '-rf',
      'model:',
      'model:tag:again',
      'my model',
      'model;rm',
      'model?x=1',
      'model#frag',
      'mod%2e%2e',
      'x'.repeat(201),
      `ns/${'m'.repeat(81)}`,
      'evil.com:port/ns/m',
    ]) {
      expect(parseModelName(name), name).toBeNull();
    }
  });

  it('matches listed names with or without the implicit :latest tag', () => {
    const parsed = parseModelName('llama3.2')!;
    expect(sameModel('llama3.2:latest', parsed)).toBe(true);
    expect(sameModel('llama3.2', parsed)).toBe(true);
    expect(sameModel('llama3.2:3b', parsed)).toBe(false);
  });
});
