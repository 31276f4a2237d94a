/** One token counter a reservation must fit under. */
export interface QuotaCounter {
  /** Names the quota and its window, e.g. `user:<id>:day:2026-11-05`. */
  key: string;
  limitTokens: number;
  /** Epoch ms after which the counter is gone (its window is over). */
  expireAtMs: number;
}

export type ReserveOutcome =
  | { granted: true; reservedTokens: number }
  /** `blockingIndex` is the counter with the least headroom; `usedTokens` is what it had counted. */
  | { granted: false; blockingIndex: number; usedTokens: number };

/**
 * Where token counters live: Redis when configured (shared by replicas), process memory
 * otherwise. Both run the same rule (see `planReservation`) and one contract test covers both.
 */
export abstract class QuotaCounterStore {
  /**
   * Atomically, over all `counters` at once: finds the smallest headroom (limit - used); if it
   * is not more than `promptTokens`, grants nothing; otherwise adds
   * `promptTokens + min(maxCompletionTokens ?? headroom - promptTokens, headroom - promptTokens)`
   * to every counter. Counters start at 0 and expire at their `expireAtMs`.
   */
  abstract reserve(counters: readonly QuotaCounter[], promptTokens: number, maxCompletionTokens: number | null): Promise<ReserveOutcome>;

  /** Adds `delta` (negative to refund) to each existing counter, never below zero; missing or expired counters stay absent. */
  abstract adjust(keys: readonly string[], delta: number): Promise<void>;

  /** Current values; 0 for a counter that does not exist (yet, or any more). */
  abstract read(keys: readonly string[]): Promise<number[]>;
}

/** The rule both stores apply (the Redis store in Lua): see `QuotaCounterStore.reserve`. */
export function planReservation(
  used: readonly number[],
  limits: readonly number[],
  promptTokens: number,
  maxCompletionTokens: number | null,
): ReserveOutcome {
  let blockingIndex = 0;
  let headroom = Number.POSITIVE_INFINITY;
  used.forEach((value, index) => {
    const left = limits[index] - value;
    if (left < headroom) {
      headroom = left;
      blockingIndex = index;
    }
  });
  if (headroom <= promptTokens) return { granted: false, blockingIndex, usedTokens: used[blockingIndex] };
  const completion = maxCompletionTokens === null ? headroom - promptTokens : Math.min(maxCompletionTokens, headroom - promptTokens);
  return { granted: true, reservedTokens: promptTokens + completion };
}

export function assertTokenCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number of tokens >= 0, got ${value}`);
}
