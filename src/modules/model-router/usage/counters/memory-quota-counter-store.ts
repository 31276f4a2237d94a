import {
  assertTokenCount,
  planReservation,
  QuotaCounter,
  QuotaCounterStore,
  ReserveOutcome,
} from 'src/modules/model-router/usage/counters/quota-counter-store';

interface Counter {
  value: number;
  expireAtMs: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The embedded default: counters in this process. Reservation is atomic because it runs
 * without an `await` between the check and the increments. Counters are never evicted
 * early (that would hand back spent budget); expired ones are swept out lazily.
 */
export class MemoryQuotaCounterStore extends QuotaCounterStore {
  private readonly counters = new Map<string, Counter>();
  private lastSweepAt = Date.now();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  reserve(counters: readonly QuotaCounter[], promptTokens: number, maxCompletionTokens: number | null): Promise<ReserveOutcome> {
    return settle(() => {
      assertTokenCount('promptTokens', promptTokens);
      if (maxCompletionTokens !== null) assertTokenCount('maxCompletionTokens', maxCompletionTokens);
      this.sweep();
      const used = counters.map((counter) => this.live(counter.key)?.value ?? 0);
      const outcome = planReservation(
        used,
        counters.map((counter) => counter.limitTokens),
        promptTokens,
        maxCompletionTokens,
      );
      if (!outcome.granted) return outcome;
      counters.forEach((counter, index) => {
        this.counters.set(counter.key, { value: used[index] + outcome.reservedTokens, expireAtMs: counter.expireAtMs });
      });
      return outcome;
    });
  }

  adjust(keys: readonly string[], delta: number): Promise<void> {
    return settle(() => {
      if (!Number.isSafeInteger(delta)) throw new RangeError(`delta must be a whole number, got ${delta}`);
      for (const key of keys) {
        const counter = this.live(key);
        if (counter) counter.value = Math.max(0, counter.value + delta);
      }
    });
  }

  read(keys: readonly string[]): Promise<number[]> {
    return settle(() => keys.map((key) => this.live(key)?.value ?? 0));
  }

  private live(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expireAtMs <= this.now()) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweepAt < SWEEP_INTERVAL_MS) return;
    this.lastSweepAt = now;
    for (const [key, counter] of this.counters) if (counter.expireAtMs <= now) this.counters.delete(key);
  }
}

/** Errors surface as rejections, as they do from the Redis store. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}
