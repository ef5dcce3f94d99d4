import { FormatRegistry, type Static, Type } from '@sinclair/typebox';

/**
 * TypeBox checks only the formats it is taught; the payloads below use 'date-time' (RFC 3339, as
 * `Date.prototype.toISOString` writes it), so it is defined here, once for every consumer.
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}

/**
 * The payloads of the events that cross services: one home for the contract between the service that
 * publishes an event type and those that consume it (the registry says who does which). A publisher
 * builds `Static<typeof X>`; a consumer checks with `Value.Check(X, payload)` and records a payload
 * that fails as malformed rather than guessing. Money is integer minor units (cents); provider cost,
 * fractions of a cent per message, is integer micro-units of USD.
 */
const Id = Type.String({ minLength: 1, maxLength: 200 });
const Email = Type.String({ minLength: 3, maxLength: 320 });
const Instant = Type.String({ format: 'date-time' });
const Count = Type.Integer({ minimum: 0 });
const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
const Currency = Type.String({ pattern: '^[a-z]{3}$' });

// auth
export const UserSignedUp = Type.Object({ userId: Id, email: Email, role: Role });
export const UserEmailVerificationRequested = Type.Object({
  userId: Id,
  email: Email,
  token: Type.String({ minLength: 1 }),
  expiresAt: Instant,
});
export const UserPasswordResetRequested = UserEmailVerificationRequested;
/** The designated admin's invitation: the token sets the password and makes the first owner. */
export const UserInvitationRequested = UserEmailVerificationRequested;

// chat
export const ChatMessageCompleted = Type.Object({
  conversationId: Id,
  messageId: Id,
  userId: Id,
  provider: Type.Union([Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('google')]),
  model: Id,
  inputTokens: Count,
  outputTokens: Count,
  /** True when the stream broke before the provider reported usage: counted with a tokenizer. */
  estimated: Type.Boolean(),
  /** What the provider charges for this message, in micro-USD (1e-6 USD). */
  costMicroUsd: Count,
  timeToFirstTokenMs: Type.Union([Count, Type.Null()]),
  durationMs: Count,
  status: Type.Union([
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('aborted'),
    Type.Literal('truncated'),
  ]),
});
export const ChatConversationCreated = Type.Object({ conversationId: Id, userId: Id });
export const ChatConversationDeleted = ChatConversationCreated;
export const ChatQuotaThresholdReached = Type.Object({
  /** 80 or 100 (percent of the period's tokens). */
  threshold: Type.Union([Type.Literal(80), Type.Literal(100)]),
  periodStart: Instant,
  periodEnd: Instant,
  usedTokens: Count,
  quotaTokens: Count,
  /** Set when a per-user limit, not the tenant's quota, was reached. */
  userId: Type.Optional(Id),
});

// billing
export const BillingSubscriptionChanged = Type.Object({
  subscriptionId: Id,
  previousPlan: Type.Union([Id, Type.Null()]),
  plan: Type.Union([Id, Type.Null()]),
  status: Type.String({ minLength: 1 }),
  changedBy: Type.Union([Id, Type.Null()]),
});
export const BillingInvoiceIssued = Type.Object({
  invoiceId: Id,
  number: Type.String({ minLength: 1 }),
  periodStart: Instant,
  periodEnd: Instant,
  totalMinor: Count,
  currency: Currency,
  dueAt: Instant,
  /** The tenant's owners and admins, whom the invoice is mailed to. */
  recipients: Type.Array(Email),
});
export const BillingPaymentSucceeded = Type.Object({
  paymentId: Id,
  invoiceId: Id,
  amountMinor: Count,
  currency: Currency,
});
export const BillingPaymentFailed = Type.Object({
  paymentId: Id,
  invoiceId: Id,
  amountMinor: Count,
  currency: Currency,
  reason: Type.String(),
  nextAttemptAt: Type.Union([Instant, Type.Null()]),
  recipients: Type.Array(Email),
});

export type UserSignedUp = Static<typeof UserSignedUp>;
export type UserEmailVerificationRequested = Static<typeof UserEmailVerificationRequested>;
export type ChatMessageCompleted = Static<typeof ChatMessageCompleted>;
export type ChatQuotaThresholdReached = Static<typeof ChatQuotaThresholdReached>;
export type BillingSubscriptionChanged = Static<typeof BillingSubscriptionChanged>;
export type BillingInvoiceIssued = Static<typeof BillingInvoiceIssued>;
export type BillingPaymentSucceeded = Static<typeof BillingPaymentSucceeded>;
export type BillingPaymentFailed = Static<typeof BillingPaymentFailed>;

/** The schema of each cross-service event type's payload. */
export const EVENT_PAYLOADS = {
  'user.signed_up': UserSignedUp,
  'user.email_verification_requested': UserEmailVerificationRequested,
  'user.password_reset_requested': UserPasswordResetRequested,
  'user.invitation_requested': UserInvitationRequested,
  'chat.message_completed': ChatMessageCompleted,
  'chat.conversation_created': ChatConversationCreated,
  'chat.conversation_deleted': ChatConversationDeleted,
  'chat.quota_threshold_reached': ChatQuotaThresholdReached,
  'billing.subscription_changed': BillingSubscriptionChanged,
  'billing.invoice_issued': BillingInvoiceIssued,
  'billing.payment_succeeded': BillingPaymentSucceeded,
  'billing.payment_failed': BillingPaymentFailed,
} as const;
