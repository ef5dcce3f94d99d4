import { expect, test } from 'vitest';
import { MAX_RANGE_DAYS, resolvePeriod } from './period.ts';

const NOW = new Date('2026-03-10T23:30:00.000Z');

test('defaults: the last 30 days to today in the time zone, by day', () => {
  expect(resolvePeriod({}, NOW)).toEqual({
    startDate: '2026-02-09',
    endDate: '2026-03-10',
    interval: 'day',
    tz: 'UTC',
    days: 30,
  });
  // 23:30 UTC is already the 11th in Tokyo.
  expect(resolvePeriod({ tz: 'Asia/Tokyo' }, NOW)).toMatchObject({ endDate: '2026-03-11', days: 30 });
});

test('a range of 366 days passes; one more day is refused naming startDate', () => {
  expect(resolvePeriod({ startDate: '2025-03-10', endDate: '2026-03-10' }).days).toBe(MAX_RANGE_DAYS);
  expect(() => resolvePeriod({ startDate: '2025-03-09', endDate: '2026-03-10' })).toThrow(
    expect.objectContaining({ statusCode: 400, code: 'RANGE_TOO_LONG', field: '/query/startDate' }),
  );
});

test('an end before the start, a date that is not one, an unknown zone: 400 naming the field', () => {
  expect(() => resolvePeriod({ startDate: '2026-03-02', endDate: '2026-03-01' })).toThrow(
    expect.objectContaining({ code: 'INVALID_RANGE', field: '/query/endDate' }),
  );
  expect(() => resolvePeriod({ startDate: '2026-02-30', endDate: '2026-03-01' })).toThrow(
    expect.objectContaining({ code: 'INVALID_RANGE', field: '/query/startDate' }),
  );
  for (const tz of ['Mars/Olympus', "UTC'--", '+05:00', 'Europe/../etc']) {
    expect(() => resolvePeriod({ tz })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TIMEZONE', field: '/query/tz' }),
    );
  }
});
