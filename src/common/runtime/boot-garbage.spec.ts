import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectBootGarbage } from 'src/common/runtime/boot-garbage';

describe('collectBootGarbage', () => {
  const original = (globalThis as { gc?: unknown }).gc;

  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.useRealTimers();
    (globalThis as { gc?: unknown }).gc = original;
  });

  it('runs one full collection after the delay when Node exposes gc', () => {
    const gc = vi.fn();
    (globalThis as { gc?: unknown }).gc = gc;
    collectBootGarbage(500);
    vi.advanceTimersByTime(499);
    expect(gc).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('does nothing, and schedules nothing, without --expose-gc', () => {
    delete (globalThis as { gc?: unknown }).gc;
    collectBootGarbage(500);
    expect(vi.getTimerCount()).toBe(0);
  });
});
