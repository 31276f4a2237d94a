import { describe, expect, it } from 'vitest';
import { SecretBox } from 'src/modules/model-router/registry/secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('a'.repeat(32), 'llm-upstream-api-key');

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.seal('sk-secret-123', 'row-1');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('sk-secret');
    expect(box.open(sealed, 'row-1')).toBe('sk-secret-123');
    expect(box.seal('sk-secret-123', 'row-1')).not.toBe(sealed);
  });

  it('refuses another context, another secret, another purpose and tampering', () => {
    const sealed = box.seal('sk-secret-123', 'row-1');
    expect(() => box.open(sealed, 'row-2')).toThrow();
    expect(() => new SecretBox('b'.repeat(32), 'llm-upstream-api-key').open(sealed, 'row-1')).toThrow();
    expect(() => new SecretBox('a'.repeat(32), 'other').open(sealed, 'row-1')).toThrow();
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`, 'row-1')).toThrow();
    expect(() => box.open('v2:abc', 'row-1')).toThrow(/format/);
    expect(() => box.open('v1:AAAA', 'row-1')).toThrow(/truncated/);
  });
});
