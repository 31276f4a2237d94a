import { describe, expect, it } from 'vitest';
import { KEEP_ALIVE_MAX_SECONDS, parseKeepAlive } from 'src/modules/model-router/nodes/keep-alive';

describe('parseKeepAlive', () => {
  it('sends -1 and whole seconds as numbers (Ollama parses a string only as a Go duration)', () => {
    expect(parseKeepAlive(-1)).toBe(-1);
    expect(parseKeepAlive('-1')).toBe(-1);
    expect(parseKeepAlive(3600)).toBe(3600);
    expect(parseKeepAlive('3600')).toBe(3600);
  });

  it('passes hour/minute/second durations through', () => {
    for (const value of ['30m', '1h30m', '90s', '24h', '1h2m3s']) expect(parseKeepAlive(value)).toBe(value);
  });

  it('refuses zero, other negatives, fractions, unknown units, oversized values and non-scalars', () => {
    for (const value of [
      0,
      '0',
      '0s',
      '0h0m',
      -2,
      '-5',
      1.5,
      '1.5h',
      '10d',
      '5 m',
      'm',
      '',
      'forever',
      KEEP_ALIVE_MAX_SECONDS + 1,
      '9999h',
      null,
      {},
      [],
      true,
    ]) {
      expect(parseKeepAlive(value), JSON.stringify(value)).toBeNull();
    }
  });
});
