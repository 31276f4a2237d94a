import { LRUCache } from 'lru-cache';
import { assertIncrement, assertTtl, CacheStore, serialize } from 'src/common/cache/cache-store';

export interface MemoryCacheOptions {
  /** Most entries kept; the least recently used go first. */
  maxEntries?: number;
  /** Rough bound on memory: UTF-16 length of keys plus serialised values. */
  maxSizeChars?: number;
}

const DEFAULTS: Required<MemoryCacheOptions> = { maxEntries: 50_000, maxSizeChars: 32 * 1024 * 1024 };

/** The embedded default: one bounded LRU per process, holding serialised JSON. */
export class MemoryCacheStore extends CacheStore {
  private readonly lru: LRUCache<string, string>;

  constructor(options: MemoryCacheOptions | LRUCache<string, string> = {}, prefix = '') {
    super(prefix);
    if (options instanceof LRUCache) {
      this.lru = options;
    } else {
      const { maxEntries, maxSizeChars } = { ...DEFAULTS, ...options };
      this.lru = new LRUCache<string, string>({
        max: maxEntries,
        maxSize: maxSizeChars,
        sizeCalculation: (value, key) => value.length + key.length,
      });
    }
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    return settle(() => {
      const raw = this.lru.get(this.fullKey(key));
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    });
  }

  set(key: string, value: unknown, ttlMs?: number): Promise<void> {
    return settle(() => {
      assertTtl(ttlMs);
      this.lru.set(this.fullKey(key), serialize(value), { ttl: ttlMs ?? 0 });
    });
  }

  delete(key: string): Promise<boolean> {
    return settle(() => this.lru.delete(this.fullKey(key)));
  }

  incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    return settle(() => {
      assertIncrement(by);
      assertTtl(ttlMs);
      const fullKey = this.fullKey(key);
      const raw = this.lru.get(fullKey);
      const current = raw === undefined ? 0 : (JSON.parse(raw) as unknown);
      if (typeof current !== 'number' || !Number.isSafeInteger(current)) throw new Error(`Cache value at "${key}" is not an integer`);
      const next = current + by;
      // Same rule as Redis: keep a running expiry, start one only on a counter without any.
      const remaining = this.lru.getRemainingTTL(fullKey);
      const ttl = raw !== undefined && Number.isFinite(remaining) ? Math.max(1, remaining) : (ttlMs ?? 0);
      this.lru.set(fullKey, String(next), { ttl });
      return next;
    });
  }

  protected withPrefix(prefix: string): CacheStore {
    return new MemoryCacheStore(this.lru, prefix);
  }
}

/** Errors surface as rejections, as they do from the Redis store (the executor runs synchronously). */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}
