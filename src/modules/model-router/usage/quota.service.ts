import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { assertTokenCount, QuotaCounter, QuotaCounterStore } from 'src/modules/model-router/usage/counters/quota-counter-store';
import { QuotaRule, QuotaRuleSource } from 'src/modules/model-router/usage/quota-definitions';
import { quotaWindow } from 'src/modules/model-router/usage/quota-windows';
import type { QuotaPeriod, QuotaScope } from 'src/modules/model-router/usage/quota-windows';
import { QuotaExceededException, UsageErrorCode, UsageException } from 'src/modules/model-router/usage/usage.exception';
import { QuotaReservation, TokenQuotas, UsageSubject } from 'src/modules/model-router/usage/usage.contract';

/** Injection token for the clock (tests move time across window boundaries). */
export const QUOTA_CLOCK = Symbol('QUOTA_CLOCK');

/**
 * Counters outlive their window by this much, so a replica whose clock runs slightly behind
 * Redis' still counts into a live key rather than one Redis has just expired.
 */
const COUNTER_GRACE_MS = 3_600_000;

/** What a reservation carries to its settlement: plain data, so it survives a trip between processes. */
interface HeldReservation extends QuotaReservation {
  readonly counterKeys?: readonly string[];
}

export interface QuotaStatus extends QuotaRule {
  usedTokens: number;
  remainingTokens: number;
  resetAt: Date;
}

/**
 * Token quotas per workspace, user and API key, per UTC day and month. `reserve` holds the
 * most a call can cost against every applicable counter in one atomic step (a Lua script on
 * Redis), so replicas together never let a caller spend past a limit; `settle` replaces the
 * hold by what the call really used.
 */
@Injectable()
export class QuotaService extends TokenQuotas {
  private readonly logger = new Logger(QuotaService.name);
  private readonly settled = new WeakSet<object>();

  constructor(
    private readonly rules: QuotaRuleSource,
    private readonly store: QuotaCounterStore,
    @Optional() @Inject(QUOTA_CLOCK) private readonly clock: () => Date = () => new Date(),
  ) {
    super();
  }

  async reserve(subject: UsageSubject, estimate: { promptTokens: number; maxCompletionTokens?: number }): Promise<QuotaReservation> {
    assertTokenCount('promptTokens', estimate.promptTokens);
    if (estimate.maxCompletionTokens !== undefined) assertTokenCount('maxCompletionTokens', estimate.maxCompletionTokens);
    const rules = await this.rules.forSubject(subject);
    if (rules.length === 0) return { id: randomUUID(), reservedTokens: 0, completionTokenCap: null };

    const now = this.clock();
    const counters = rules.map((rule) => this.counter(rule, now));
    let outcome: Awaited<ReturnType<QuotaCounterStore['reserve']>>;
    try {
      outcome = await this.store.reserve(counters, estimate.promptTokens, estimate.maxCompletionTokens ?? null);
    } catch (error) {
      this.logger.error(`Quota counters unavailable: ${error instanceof Error ? error.message : String(error)}`);
      throw new UsageException(UsageErrorCode.QuotaUnavailable, 'Token quotas cannot be checked right now; retry shortly');
    }
    if (!outcome.granted) {
      const rule = rules[outcome.blockingIndex];
      throw new QuotaExceededException(rule, outcome.usedTokens, quotaWindow(rule.period, now).resetsAt, now);
    }
    const reservation: HeldReservation = {
      id: randomUUID(),
      reservedTokens: outcome.reservedTokens,
      completionTokenCap: outcome.reservedTokens - estimate.promptTokens,
      counterKeys: counters.map((counter) => counter.key),
    };
    return reservation;
  }

  /**
   * Refunds what the call did not use, or charges what it used beyond the hold, on the very
   * counters (and windows) the reservation touched. Never throws: the call has happened; a
   * failure is logged and leaves the hold in place, which errs on the side of the limit.
   */
  async settle(reservation: QuotaReservation, actualTotalTokens: number): Promise<void> {
    const keys = (reservation as HeldReservation).counterKeys;
    if (!keys || keys.length === 0) return;
    if (this.settled.has(reservation)) {
      this.logger.warn(`Quota reservation ${reservation.id} settled twice; the second settlement is ignored`);
      return;
    }
    this.settled.add(reservation);
    const actual = Number.isFinite(actualTotalTokens) ? Math.max(0, Math.round(actualTotalTokens)) : reservation.reservedTokens;
    const delta = actual - reservation.reservedTokens;
    if (delta === 0) return;
    try {
      await this.store.adjust(keys, delta);
    } catch (error) {
      this.logger.error(
        `Could not settle quota reservation ${reservation.id} (${delta} tokens): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Each quota that applies to the subject, with what its current window has counted. */
  async status(subject: UsageSubject): Promise<QuotaStatus[]> {
    const rules = await this.rules.forSubject(subject);
    return this.statusOf(rules);
  }

  async statusOf(rules: readonly QuotaRule[]): Promise<QuotaStatus[]> {
    if (rules.length === 0) return [];
    const now = this.clock();
    let used: number[];
    try {
      used = await this.store.read(rules.map((rule) => this.counter(rule, now).key));
    } catch (error) {
      this.logger.error(`Quota counters unavailable: ${error instanceof Error ? error.message : String(error)}`);
      throw new UsageException(UsageErrorCode.QuotaUnavailable, 'Token quotas cannot be read right now; retry shortly');
    }
    return rules.map((rule, index) => ({
      ...rule,
      usedTokens: used[index],
      remainingTokens: Math.max(0, rule.limitTokens - used[index]),
      resetAt: quotaWindow(rule.period, now).resetsAt,
    }));
  }

  private counter(rule: QuotaRule, now: Date): QuotaCounter {
    const window = quotaWindow(rule.period, now);
    return {
      key: counterKey(rule.scope, rule.subjectId, rule.period, window.label),
      limitTokens: rule.limitTokens,
      expireAtMs: window.resetsAt.getTime() + COUNTER_GRACE_MS,
    };
  }
}

function counterKey(scope: QuotaScope, subjectId: string, period: QuotaPeriod, windowLabel: string): string {
  return `${scope}:${subjectId}:${period}:${windowLabel}`;
}
