import { describe, expect, test } from 'vitest';
import { invoiceLines, invoiceNumber, nextAttemptAt, overage, periodOf } from './billing-period.ts';

const pro = {
  basePriceMinor: 4900,
  currency: 'usd',
  includedTokens: 2_000_000,
  overagePerThousandTokensMinor: 2,
};

describe('periodOf', () => {
  test('is the UTC calendar month, across a year end', () => {
    expect(periodOf(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2027-01-01T00:00:00Z'),
    });
    expect(periodOf(new Date('2027-01-01T00:00:00Z')).start).toEqual(new Date('2027-01-01T00:00:00Z'));
  });
});

describe('invoiceLines', () => {
  test('within the included tokens: the base line alone', () => {
    expect(invoiceLines('pro', pro, 2_000_000)).toEqual({
      lines: [expect.objectContaining({ kind: 'base', quantity: 1, amountMinor: 4900 })],
      totalMinor: 4900,
    });
  });

  test('overage is billed per started 1,000 tokens and the lines add up', () => {
    const { lines, totalMinor } = invoiceLines('pro', pro, 2_000_001);
    expect(lines[1]).toMatchObject({ kind: 'overage', quantity: 1, unitAmountMinor: 2, amountMinor: 2 });
    expect(totalMinor).toBe(4902);
    const big = invoiceLines('pro', pro, 3_500_000);
    expect(big.lines[1]).toMatchObject({ quantity: 1500, amountMinor: 3000 });
    expect(big.totalMinor).toBe(big.lines.reduce((s, l) => s + l.amountMinor, 0));
    expect(overage(1_999_999, pro)).toEqual({ tokens: 0, units: 0 });
  });
});

test('invoice numbers are fixed width; the retry schedule ends after three failures', () => {
  expect(invoiceNumber(42)).toBe('INV-000042');
  const at = new Date('2026-01-01T00:00:00Z');
  expect(nextAttemptAt(1, at)).toEqual(new Date('2026-01-04T00:00:00Z'));
  expect(nextAttemptAt(3, at)).toEqual(new Date('2026-01-08T00:00:00Z'));
  expect(nextAttemptAt(4, at)).toBeNull();
});
