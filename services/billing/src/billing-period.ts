import type { PlanBilling } from '@tenantry/tenant-api';

/**
 * Billing periods and invoice arithmetic, pure. A period is a calendar month in UTC, the same for
 * every tenant: usage is aggregated per month, and a subscription's period is the month it is in.
 */

export interface Period {
  start: Date;
  end: Date;
}

/** The calendar month (UTC) that contains `instant`. */
export function periodOf(instant: Date): Period {
  const start = new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), 1));
  const end = new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth() + 1, 1));
  return { start, end };
}

export const TOKENS_PER_OVERAGE_UNIT = 1_000;

export interface InvoiceLine {
  kind: 'base' | 'overage';
  description: string;
  quantity: number;
  unitAmountMinor: number;
  amountMinor: number;
}

/** Tokens beyond the included ones, and the started thousands they are billed as. */
export function overage(usedTokens: number, billing: PlanBilling): { tokens: number; units: number } {
  const tokens = Math.max(0, usedTokens - billing.includedTokens);
  return { tokens, units: Math.ceil(tokens / TOKENS_PER_OVERAGE_UNIT) };
}

/**
 * The lines of a period's invoice: the base price, and the overage when there is any (every started
 * 1,000 tokens beyond the included ones). Integer arithmetic only; the total is the sum of the lines.
 */
export function invoiceLines(
  planName: string,
  billing: PlanBilling,
  usedTokens: number,
): { lines: InvoiceLine[]; totalMinor: number } {
  const lines: InvoiceLine[] = [
    {
      kind: 'base',
      description: `${planName} plan, monthly base price`,
      quantity: 1,
      unitAmountMinor: billing.basePriceMinor,
      amountMinor: billing.basePriceMinor,
    },
  ];
  const extra = overage(usedTokens, billing);
  if (extra.units > 0) {
    lines.push({
      kind: 'overage',
      description: `${extra.tokens} chat tokens beyond the ${billing.includedTokens} included, per started 1,000`,
      quantity: extra.units,
      unitAmountMinor: billing.overagePerThousandTokensMinor,
      amountMinor: extra.units * billing.overagePerThousandTokensMinor,
    });
  }
  const totalMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0);
  if (!Number.isSafeInteger(totalMinor)) throw new Error(`invoice total ${totalMinor} is not a safe integer`);
  return { lines, totalMinor };
}

/** `INV-000042`: sequential per tenant, fixed width so numbers sort as text too. */
export function invoiceNumber(sequence: number): string {
  return `INV-${String(sequence).padStart(6, '0')}`;
}

/**
 * The payment retry schedule: after the n-th failed attempt (1-based), the next one is this many
 * days later; after the last, none, and the subscription is past_due.
 */
export const RETRY_AFTER_DAYS = [3, 5, 7] as const;

export function nextAttemptAt(failedAttempts: number, failedAt: Date): Date | null {
  const days = RETRY_AFTER_DAYS[failedAttempts - 1];
  return days === undefined ? null : new Date(failedAt.getTime() + days * 86_400_000);
}
