import { invalidRange, rangeTooLong, unknownTimezone } from './analytics-errors.ts';

export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;
export const INTERVALS = ['day', 'week', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];

/** The query string's period, as given (TypeBox has checked the shapes). */
export interface PeriodQuery {
  startDate?: string;
  endDate?: string;
  interval?: Interval;
  tz?: string;
}

/** A checked period: whole days, both ends inclusive, in `tz`. */
export interface Period {
  startDate: string;
  endDate: string;
  interval: Interval;
  tz: string;
  days: number;
}

const DAY_MS = 86_400_000;
/** IANA names only (Area/Location, or UTC): no offsets, nothing the engine could read differently. */
const TZ_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

function dayNumber(date: string, field: string): number {
  const ms = Date.parse(`${date}T00:00:00Z`);
  // The pattern admits 2026-02-31; Date rolls it over, which this catches.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw invalidRange(`${field} ${JSON.stringify(date)} is not a calendar date`, `/query/${field}`);
  }
  return ms / DAY_MS;
}

function isKnownTimezone(tz: string): boolean {
  if (!TZ_SHAPE.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Today's date in `tz`, as YYYY-MM-DD. */
function today(tz: string, now: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

/**
 * The period a request asks for, or a 400 naming the field: an unknown time zone, a date that is not
 * one, an end before the start, more than MAX_RANGE_DAYS days. Defaults: the last 30 days to today in
 * `tz`, by day, in UTC.
 */
export function resolvePeriod(query: PeriodQuery, now = new Date()): Period {
  const tz = query.tz ?? 'UTC';
  if (!isKnownTimezone(tz)) throw unknownTimezone(tz);
  const interval = query.interval ?? 'day';
  const endDate = query.endDate ?? today(tz, now);
  const end = dayNumber(endDate, 'endDate');
  const startDate =
    query.startDate ?? new Date((end - (DEFAULT_RANGE_DAYS - 1)) * DAY_MS).toISOString().slice(0, 10);
  const start = dayNumber(startDate, 'startDate');
  if (end < start)
    throw invalidRange(`endDate ${endDate} is before startDate ${startDate}`, '/query/endDate');
  const days = end - start + 1;
  if (days > MAX_RANGE_DAYS) throw rangeTooLong(days, MAX_RANGE_DAYS);
  return { startDate, endDate, interval, tz, days };
}
