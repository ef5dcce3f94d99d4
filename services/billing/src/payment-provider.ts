/**
 * What billing needs of a payment provider. Card data never reaches us: a payment method is the
 * provider's id (Stripe's pm_...), collected by the provider's own client-side form. Our state (which
 * invoice is paid) lives in our database; the provider's answers and webhooks only move it.
 */
export interface PaymentProvider {
  readonly name: string;
  /** A customer for the tenant; `idempotencyKey` makes a retried request create one customer. */
  createCustomer(input: { email: string; tenant: string; idempotencyKey: string }): Promise<string>;
  /** Removes the customer, which ends every subscription it has at the provider. */
  deleteCustomer(customerId: string): Promise<void>;
  /** Charges `amountMinor` now; `paymentId` (ours) is its idempotency key and travels in its metadata. */
  charge(input: ChargeInput): Promise<ChargeOutcome>;
  /**
   * The webhook event in `rawBody`, verified against `signature` (and its age); throws
   * WebhookSignatureError when it does not verify.
   */
  parseWebhook(rawBody: string, signature: string | undefined): ProviderEvent;
}

export interface ChargeInput {
  paymentId: string;
  tenant: string;
  invoiceId: string;
  customerId: string;
  paymentMethodId: string;
  amountMinor: number;
  currency: string;
}

/** `pending`: the provider decides later, and says so through a webhook. */
export interface ChargeOutcome {
  providerPaymentId: string | null;
  status: 'succeeded' | 'failed' | 'pending';
  failureReason: string | null;
}

export interface ProviderEvent {
  id: string;
  /** The provider's own type, e.g. payment_intent.succeeded. */
  providerType: string;
  /** What billing makes of it; `ignored` for every type billing does not act on. */
  kind: 'payment_succeeded' | 'payment_failed' | 'ignored';
  /** Our payment id and tenant, from the metadata we set when charging. */
  paymentId: string | undefined;
  tenant: string | undefined;
  providerPaymentId: string | undefined;
  failureReason: string | null;
}

export class WebhookSignatureError extends Error {}

/** The provider refused the customer's payment method: a failed attempt, not an outage. */
export class PaymentDeclinedError extends Error {}
