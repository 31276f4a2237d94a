import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { UsageRecorder, UsageRecordInput } from 'src/modules/model-router/usage/usage.contract';
import { UsageRepository, UsageRow } from 'src/modules/model-router/usage/usage.repository';

const FLUSH_DELAY_MS = 500;
const BATCH_SIZE = 200;
/** Rows kept while the database is unreachable; past this the oldest are dropped (and logged). */
const MAX_PENDING = 20_000;
const RETRY_DELAY_MS = 5_000;
const INT_MAX = 2_147_483_647;
const WARNING_INTERVAL_MS = 30_000;

/**
 * Writes usage rows in batches: one INSERT per half second (or per 200 rows) instead of one
 * per call. `record` never throws and never waits. Nothing is lost in normal operation: the
 * buffer is flushed before the application shuts down (before the database closes), a batch
 * the database rejects for one bad row is retried row by row, and a batch that fails because
 * the database is away is kept and retried.
 */
@Injectable()
export class UsageService extends UsageRecorder implements BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageService.name);
  private pending: UsageRow[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closing = false;
  private lastWarningAt = 0;

  constructor(private readonly repository: UsageRepository) {
    super();
  }

  record(input: UsageRecordInput): void {
    try {
      this.pending.push(toRow(input));
      if (this.pending.length > MAX_PENDING) {
        const dropped = this.pending.splice(0, this.pending.length - MAX_PENDING);
        this.logger.error(`Usage buffer full: dropped the ${dropped.length} oldest usage records`);
      }
      if (this.closing || this.pending.length >= BATCH_SIZE) void this.flush();
      else this.schedule(FLUSH_DELAY_MS);
    } catch (error) {
      this.logger.error(`Could not record usage: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Writes everything recorded so far; resolves when it is stored (or logged as lost). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.flush();
    if (this.pending.length > 0) this.logger.error(`Shutting down with ${this.pending.length} usage records unwritten`);
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH_SIZE);
      try {
        await this.repository.insert(batch);
      } catch (error) {
        if (isRowError(error)) {
          await this.writeOneByOne(batch);
        } else {
          // The database is away: keep the rows (ahead of newer ones) and try again later.
          this.pending.unshift(...batch);
          if (Date.now() - this.lastWarningAt > WARNING_INTERVAL_MS) {
            this.lastWarningAt = Date.now();
            this.logger.warn(`Usage records not written yet (${this.pending.length} waiting): ${errorMessage(error)}`);
          }
          if (!this.closing) this.schedule(RETRY_DELAY_MS);
          return;
        }
      }
    }
  }

  /** One bad row (its workspace or user was deleted meanwhile) must not cost the rest of the batch. */
  private async writeOneByOne(batch: UsageRow[]): Promise<void> {
    for (const row of batch) {
      try {
        await this.repository.insert([row]);
      } catch (error) {
        this.logger.warn(
          `Dropped a usage record of workspace ${row.workspaceId}, user ${row.userId} (${row.promptTokens}+${row.completionTokens} tokens): ${errorMessage(error)}`,
        );
      }
    }
  }
}

/** Bounds every value to its column, so that a row is never refused for its shape. */
function toRow(input: UsageRecordInput): UsageRow {
  return {
    createdAt: new Date(),
    workspaceId: input.subject.workspaceId,
    userId: input.subject.userId,
    apiKeyId: input.subject.apiKeyId ?? null,
    kind: input.kind,
    requestedModel: input.requestedModel.slice(0, 128),
    model: input.model?.slice(0, 128) ?? null,
    provider: input.provider?.slice(0, 32) ?? null,
    nodeId: input.nodeId?.slice(0, 255) ?? null,
    promptTokens: count(input.promptTokens),
    completionTokens: count(input.completionTokens),
    timeToFirstTokenMs: input.timeToFirstTokenMs === null ? null : count(input.timeToFirstTokenMs),
    durationMs: count(input.durationMs),
    outcome: input.outcome,
    cached: input.cached,
    errorCode: input.errorCode?.slice(0, 64) ?? null,
  };
}

function count(value: number): number {
  return Number.isFinite(value) ? Math.min(INT_MAX, Math.max(0, Math.round(value))) : 0;
}

/** Integrity (class 23) and data (class 22) errors are about a row, not about the connection. */
function isRowError(error: unknown): boolean {
  const code = error instanceof QueryFailedError ? (error.driverError as { code?: string } | undefined)?.code : undefined;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
