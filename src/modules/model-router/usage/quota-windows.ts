export const QUOTA_SCOPES = ['workspace', 'user', 'api-key'] as const;
export type QuotaScope = (typeof QUOTA_SCOPES)[number];

export const QUOTA_PERIODS = ['day', 'month'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** One fixed window of a period: a UTC calendar day or a UTC calendar month. */
export interface QuotaWindow {
  /** `2026-11-05` for a day, `2026-11` for a month: part of the counter key. */
  label: string;
  startsAt: Date;
  /** When the next window starts, i.e. when the counter resets. */
  resetsAt: Date;
}

/**
 * Windows are UTC so that every replica, whatever its time zone, counts into the same key.
 * A month window ends at 00:00 UTC on the first of the next month.
 */
export function quotaWindow(period: QuotaPeriod, now: Date): QuotaWindow {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  if (period === 'day') {
    const day = now.getUTCDate();
    return {
      label: `${year}-${pad(month + 1)}-${pad(day)}`,
      startsAt: new Date(Date.UTC(year, month, day)),
      resetsAt: new Date(Date.UTC(year, month, day + 1)),
    };
  }
  return {
    label: `${year}-${pad(month + 1)}`,
    startsAt: new Date(Date.UTC(year, month, 1)),
    resetsAt: new Date(Date.UTC(year, month + 1, 1)),
  };
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
