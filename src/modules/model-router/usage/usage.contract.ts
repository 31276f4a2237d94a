/**
 * What the chat gateway needs from usage accounting and quotas. The gateway reserves before
 * it calls a model and settles after, so that several replicas sharing one Redis never let a
 * caller spend past a limit (the reservation caps the completion's max tokens).
 */

/** Who a call is accounted to. */
export interface UsageSubject {
  workspaceId: string;
  userId: string;
  apiKeyId?: string | null;
}

export type UsageKind = 'chat' | 'embedding';

/** `complete`: full answer; `incomplete`: cut after the first token; `error`: failed before it. */
export type UsageOutcome = 'complete' | 'incomplete' | 'error';

export interface UsageRecordInput {
  subject: UsageSubject;
  kind: UsageKind;
  /** What the caller asked for: a name, alias, tier or `auto`. */
  requestedModel: string;
  /** The concrete model that answered (or was tried last); null when none was resolved. */
  model: string | null;
  provider: string | null;
  nodeId: string | null;
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number | null;
  durationMs: number;
  outcome: UsageOutcome;
  /** Served from the response cache (no model was called, no tokens counted against quotas). */
  cached: boolean;
  errorCode: string | null;
}

/** Tokens held against every quota that applies to a subject until the call settles. */
export interface QuotaReservation {
  /** Opaque to the gateway. */
  readonly id: string;
  readonly reservedTokens: number;
  /**
   * The most completion tokens this call may generate without passing any limit; null when
   * no quota applies. The gateway sends it as the model's max tokens.
   */
  readonly completionTokenCap: number | null;
}

/**
 * Injection tokens the gateway depends on; UsageModule binds them to its services
 * (`{ provide: TokenQuotas, useExisting: QuotaService }`).
 */
export abstract class TokenQuotas {
  /** Holds tokens against every quota of the subject; throws QuotaExceededException (429) when none are left. */
  abstract reserve(subject: UsageSubject, estimate: { promptTokens: number; maxCompletionTokens?: number }): Promise<QuotaReservation>;
  /** Replaces the reserved amount by what the call really used (refund or excess). */
  abstract settle(reservation: QuotaReservation, actualTotalTokens: number): Promise<void>;
}

export abstract class UsageRecorder {
  /** Never throws into the caller. */
  abstract record(input: UsageRecordInput): void;
}
