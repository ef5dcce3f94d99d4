import { type Static, Type } from '@sinclair/typebox';

/** The HTTP shapes of the billing API; every route declares its params, query, body and responses. */

/**
 * Ids as a pattern, not format: 'uuid': bodies and params are checked by TypeBox as sent (see routes),
 * which knows no formats it was not taught.
 */
const Uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'A UUID',
});
const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
/** Money is an integer of minor units (cents): a fraction cannot even be expressed. */
const Minor = Type.Integer({ minimum: 0, description: 'Integer minor units of the currency (cents)' });
const Currency = Type.String({ pattern: '^[a-z]{3}$', description: 'ISO 4217, lowercase' });
const PlanName = Type.String({
  minLength: 1,
  maxLength: 40,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  description: 'The name of a Plan, e.g. pro',
});

export const PlanView = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  monthlyTokens: Type.Integer({ description: 'Chat tokens the plan allows per month' }),
  basePriceMinor: Minor,
  currency: Currency,
  includedTokens: Type.Integer({ minimum: 0 }),
  overagePerThousandTokensMinor: Minor,
});
export const PlanList = Type.Object({ items: Type.Array(PlanView) });

export const Subscription = Type.Object({
  id: Uuid,
  plan: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('past_due'), Type.Literal('canceled')]),
  billingEmail: Type.String(),
  currentPeriodStart: Timestamp,
  currentPeriodEnd: Timestamp,
  cancelAtPeriodEnd: Type.Boolean(),
  canceledAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Subscription = Static<typeof Subscription>;
export const SubscriptionList = Type.Object({ items: Type.Array(Subscription) });

export const CreateSubscriptionBody = Type.Object(
  {
    plan: PlanName,
    billingEmail: Type.String({
      minLength: 3,
      maxLength: 320,
      pattern: '^[^\\s@]+@[^\\s@]+$',
      description: 'Where invoices and payment notices are sent',
    }),
  },
  { additionalProperties: false },
);
export type CreateSubscriptionBody = Static<typeof CreateSubscriptionBody>;

export const ChangeSubscriptionBody = Type.Object({ plan: PlanName }, { additionalProperties: false });

export const IdParams = Type.Object({ id: Uuid });

export const CancelQuery = Type.Object(
  {
    immediately: Type.Boolean({
      default: false,
      description: 'Cancel now (back to the free plan at once) instead of at the end of the period',
    }),
  },
  { additionalProperties: false },
);

export const Usage = Type.Object({
  periodStart: Timestamp,
  periodEnd: Timestamp,
  plan: Nullable(Type.String()),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  meteredTokens: Type.Integer({ description: 'Input plus output tokens of the period' }),
  messages: Type.Integer(),
  estimatedMessages: Type.Integer({ description: 'Messages whose tokens chat had to estimate' }),
  includedTokens: Type.Integer(),
  overageTokens: Type.Integer(),
  projectedOverageMinor: Minor,
  currency: Nullable(Currency),
});

const InvoiceLine = Type.Object({
  kind: Type.Union([Type.Literal('base'), Type.Literal('overage')]),
  description: Type.String(),
  quantity: Type.Integer(),
  unitAmountMinor: Minor,
  amountMinor: Minor,
});

export const InvoiceSummary = Type.Object({
  id: Uuid,
  number: Type.String(),
  plan: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('paid'), Type.Literal('uncollectible')]),
  periodStart: Timestamp,
  periodEnd: Timestamp,
  totalMinor: Minor,
  currency: Currency,
  issuedAt: Timestamp,
  dueAt: Timestamp,
  paidAt: Nullable(Timestamp),
  failedAttempts: Type.Integer(),
  nextAttemptAt: Nullable(Timestamp),
});
export const Invoice = Type.Composite([InvoiceSummary, Type.Object({ lines: Type.Array(InvoiceLine) })]);
export const InvoiceList = Type.Object({ items: Type.Array(InvoiceSummary) });

export const PayInvoiceBody = Type.Object(
  {
    invoiceId: Uuid,
    paymentMethodId: Type.String({
      minLength: 3,
      maxLength: 255,
      pattern: '^pm_[A-Za-z0-9_]+$',
      description: "A payment method held by the provider (Stripe's pm_...); card data never reaches us",
    }),
  },
  { additionalProperties: false },
);

export const Payment = Type.Object({
  id: Uuid,
  invoiceId: Uuid,
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  amountMinor: Minor,
  currency: Currency,
  failureReason: Nullable(Type.String()),
});
export type Payment = Static<typeof Payment>;

export const WebhookAck = Type.Object({
  received: Type.Literal(true),
  applied: Type.Boolean({ description: 'False for a replay or an event type billing ignores' }),
});
