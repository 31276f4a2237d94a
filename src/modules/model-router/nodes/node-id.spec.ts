import { describe, expect, it } from 'vitest';
import { isNodeIdShape, nodeSlug } from 'src/modules/model-router/nodes/node-id';

describe('node ids', () => {
  it('derives a short stable id from host and port', () => {
    expect(nodeSlug('http://gpu-1:11434')).toBe('gpu-1-11434');
    expect(nodeSlug('http://10.0.3.7:11434')).toBe('10.0.3.7-11434');
    expect(nodeSlug('https://Ollama.example.com')).toBe('https-ollama.example.com-443');
    expect(nodeSlug('http://[fd00::1]:11434')).toBe('fd00--1-11434');
  });

  it('accepts slugs and pool ids only', () => {
    expect(isNodeIdShape('gpu-1-11434')).toBe(true);
    expect(isNodeIdShape('ollama:http://gpu-1:11434')).toBe(true);
    for (const value of ['', '../etc', 'GPU', 'ollama:file:///etc/passwd', 'ollama:http://a/b', 'a b', 'x'.repeat(301)]) {
      expect(isNodeIdShape(value), value).toBe(false);
    }
  });
});
