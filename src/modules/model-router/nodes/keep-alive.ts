/**
 * How long a loaded model stays in memory, as an admin may give it: `-1` (until unloaded),
 * whole seconds (`3600` or "3600"), or a duration of hours, minutes and seconds ("30m",
 * "1h30m", "90s"). Zero is not a load: that is what unload does.
 */
export const KEEP_ALIVE_MAX_SECONDS = 365 * 24 * 3600;

const DURATION = /^(?:(\d{1,4})h)?(?:(\d{1,6})m)?(?:(\d{1,8})s)?$/;

/** What to send Ollama as `keep_alive`, or null when the value is not acceptable. */
export function parseKeepAlive(value: unknown): number | string | null {
  if (typeof value === 'number') return validSeconds(value) ? value : null;
  if (typeof value !== 'string') return null;
  if (/^-?\d{1,10}$/.test(value)) return validSeconds(Number(value)) ? Number(value) : null;
  const match = DURATION.exec(value);
  if (!match || value === '') return null;
  const [, hours = '0', minutes = '0', seconds = '0'] = match;
  const total = Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
  return total > 0 && total <= KEEP_ALIVE_MAX_SECONDS ? value : null;
}

function validSeconds(value: number): boolean {
  return value === -1 || (Number.isInteger(value) && value > 0 && value <= KEEP_ALIVE_MAX_SECONDS);
}
