import type { Subscription } from './billing-schemas.ts';

/**
 * Rows read with postgres.js on a tenant pool. tenant-db configures its pools for drizzle, whose
 * parsers hand timestamps over as text and bigint is text in postgres.js anyway: these normalise both.
 * For the same reason a Date cannot be a parameter on these pools (drizzle's serializers expect
 * strings): the SQL of this service binds instants as ISO strings.
 */
export const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
export const toIso = (value: unknown): string => toDate(value).toISOString();
export const toIsoOrNull = (value: unknown): string | null => (value == null ? null : toIso(value));
export const toInt = (value: unknown): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`expected a safe integer, got ${String(value)}`);
  return n;
};

export interface SubscriptionRecord {
  id: string;
  plan: string;
  status: Subscription['status'];
  billing_email: string;
  current_period_start: unknown;
  current_period_end: unknown;
  cancel_at_period_end: boolean;
  canceled_at: unknown;
  provider_customer_id: string | null;
  created_at: unknown;
  updated_at: unknown;
}

export function toSubscription(row: SubscriptionRecord): Subscription {
  return {
    id: row.id,
    plan: row.plan,
    status: row.status,
    billingEmail: row.billing_email,
    currentPeriodStart: toIso(row.current_period_start),
    currentPeriodEnd: toIso(row.current_period_end),
    cancelAtPeriodEnd: row.cancel_at_period_end,
    canceledAt: toIsoOrNull(row.canceled_at),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}
