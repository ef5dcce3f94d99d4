import Stripe from 'stripe';
import {
  type ChargeInput,
  type ChargeOutcome,
  type PaymentProvider,
  type ProviderEvent,
  WebhookSignatureError,
} from './payment-provider.ts';

export interface StripeProviderOptions {
  secretKey: string;
  webhookSecret: string;
  /** stripe-mock's address in development and tests; Stripe itself when unset. */
  apiUrl?: string | undefined;
  /** Seconds a webhook signature stays valid (replays older than this are refused). */
  webhookToleranceSeconds?: number;
}

export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

function endpoint(apiUrl: string | undefined): Stripe.StripeConfig {
  if (!apiUrl) return {};
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return { host: url.hostname, port: Number(url.port || (protocol === 'https' ? 443 : 80)), protocol };
}

/** The Stripe adapter on the official SDK: customers and PaymentIntents, webhooks signed by Stripe. */
export function stripeProvider(options: StripeProviderOptions): PaymentProvider {
  const stripe = new Stripe(options.secretKey, { ...endpoint(options.apiUrl), maxNetworkRetries: 2 });
  const tolerance = options.webhookToleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  return {
    name: 'stripe',
    async createCustomer({ email, tenant, idempotencyKey }) {
      const customer = await stripe.customers.create({ email, metadata: { tenant } }, { idempotencyKey });
      return customer.id;
    },
    async deleteCustomer(customerId) {
      try {
        await stripe.customers.del(customerId);
      } catch (error) {
        // Already gone is what we wanted.
        if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) return;
        throw error;
      }
    },
    async charge(input: ChargeInput): Promise<ChargeOutcome> {
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: input.amountMinor,
            currency: input.currency,
            customer: input.customerId,
            payment_method: input.paymentMethodId,
            confirm: true,
            off_session: true,
            metadata: { tenant: input.tenant, invoiceId: input.invoiceId, paymentId: input.paymentId },
          },
          { idempotencyKey: input.paymentId },
        );
        // Anything but succeeded is settled later (3-D Secure, processing): the webhook says how.
        return {
          providerPaymentId: intent.id,
          status: intent.status === 'succeeded' ? 'succeeded' : 'pending',
          failureReason: null,
        };
      } catch (error) {
        if (error instanceof Stripe.errors.StripeCardError) {
          const intent = (error.raw as { payment_intent?: { id?: string } } | undefined)?.payment_intent;
          return {
            providerPaymentId: intent?.id ?? null,
            status: 'failed',
            failureReason: error.code ?? error.message,
          };
        }
        throw error;
      }
    },
    parseWebhook(rawBody, signature): ProviderEvent {
      if (!signature) throw new WebhookSignatureError('the request has no Stripe-Signature header');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, options.webhookSecret, tolerance);
      } catch (error) {
        throw new WebhookSignatureError(
          `the Stripe signature does not verify: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      const base = {
        id: event.id,
        providerType: event.type,
        paymentId: undefined,
        tenant: undefined,
        providerPaymentId: undefined,
        failureReason: null,
      };
      if (event.type !== 'payment_intent.succeeded' && event.type !== 'payment_intent.payment_failed') {
        return { ...base, kind: 'ignored' };
      }
      const intent = event.data.object;
      return {
        ...base,
        kind: event.type === 'payment_intent.succeeded' ? 'payment_succeeded' : 'payment_failed',
        paymentId: intent.metadata?.paymentId,
        tenant: intent.metadata?.tenant,
        providerPaymentId: intent.id,
        failureReason:
          event.type === 'payment_intent.payment_failed'
            ? (intent.last_payment_error?.code ?? intent.last_payment_error?.message ?? 'payment failed')
            : null,
      };
    },
  };
}
