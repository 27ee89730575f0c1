/**
 * Instants as the lifecycle core keeps them: ISO 8601 strings in UTC with milliseconds
 * (`Date.prototype.toISOString()`), so stored state stays plain JSON and two equal instants are
 * equal strings. Every instant entering the core goes through `toIso` first.
 */

export const DAY_MS = 86_400_000;

/** Normalises an ISO 8601 instant to `YYYY-MM-DDTHH:mm:ss.sssZ`; throws RangeError naming `path` when unparseable. */
export function toIso(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new RangeError(`${path}: must be an ISO 8601 date-time string`);
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${path}: must be an ISO 8601 date-time, got '${value}'`);
  return new Date(ms).toISOString();
}

export function ms(iso: string): number {
  return Date.parse(iso);
}

/** Negative when a is before b, 0 when equal, positive when after. */
export function compareIso(a: string, b: string): number {
  return ms(a) - ms(b);
}

export function addDays(iso: string, days: number): string {
  return new Date(ms(iso) + days * DAY_MS).toISOString();
}

/** Days from `from` to `to` (fractional; negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return (ms(to) - ms(from)) / DAY_MS;
}

/** The later of two optional instants. */
export function latest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareIso(b, a) > 0 ? b : a;
}

/** The earlier of two optional instants. */
export function earliest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareIso(b, a) < 0 ? b : a;
}
