import { HttpError } from '@tenantry/service-kit';

/** Error codes of the analytics API besides service-kit's and identity's; clients branch on these. */
export const ANALYTICS_ERROR_CODES = {
  INVALID_RANGE: 'INVALID_RANGE',
  RANGE_TOO_LONG: 'RANGE_TOO_LONG',
  UNKNOWN_TIMEZONE: 'UNKNOWN_TIMEZONE',
  QUERY_TIMEOUT: 'ANALYTICS_QUERY_TIMEOUT',
  UNAVAILABLE: 'ANALYTICS_UNAVAILABLE',
} as const;

export function invalidRange(message: string, field: string): HttpError {
  return new HttpError(400, ANALYTICS_ERROR_CODES.INVALID_RANGE, message, { field });
}

export function rangeTooLong(days: number, maxDays: number): HttpError {
  return new HttpError(
    400,
    ANALYTICS_ERROR_CODES.RANGE_TOO_LONG,
    `the range spans ${days} days; at most ${maxDays} are allowed`,
    { field: '/query/startDate' },
  );
}

export function unknownTimezone(tz: string): HttpError {
  return new HttpError(
    400,
    ANALYTICS_ERROR_CODES.UNKNOWN_TIMEZONE,
    `unknown time zone ${JSON.stringify(tz)}`,
    {
      field: '/query/tz',
    },
  );
}

export function queryTimeout(seconds: number): HttpError {
  return new HttpError(
    503,
    ANALYTICS_ERROR_CODES.QUERY_TIMEOUT,
    `the query ran longer than ${seconds} s and was cancelled; narrow the range or retry later`,
    { headers: { 'retry-after': '5' } },
  );
}

export function analyticsUnavailable(): HttpError {
  return new HttpError(503, ANALYTICS_ERROR_CODES.UNAVAILABLE, 'the analytics store is unavailable for now', {
    headers: { 'retry-after': '5' },
  });
}
