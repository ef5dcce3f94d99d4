import { randomUUID } from 'node:crypto';
import { devstack, stripeMock } from '@tenantry/devstack/testing';
import Stripe from 'stripe';
import { describe, expect, test } from 'vitest';
import { WebhookSignatureError } from './payment-provider.ts';
import { stripeProvider } from './stripe-provider.ts';

/**
 * The Stripe adapter's contract, against stripe-mock: it validates every request against Stripe's
 * OpenAPI document (a wrong parameter is a 400 there), and answers with fixtures, so these tests
 * assert on shapes, never on state read back.
 */
const SECRET = 'whsec_contract_test';
const provider = stripeProvider({
  secretKey: stripeMock().apiKey,
  apiUrl: devstack().stripe.url,
  webhookSecret: SECRET,
});

describe('the Stripe adapter on stripe-mock', () => {
  test('creates and deletes a customer', async () => {
    const id = await provider.createCustomer({
      email: 'billing@acme.test',
      tenant: 'acme',
      idempotencyKey: randomUUID(),
    });
    expect(id).toMatch(/^cus_/);
    await expect(provider.deleteCustomer(id)).resolves.toBeUndefined();
  });

  test('a confirmed PaymentIntent that did not succeed yet is pending, keyed by our payment id', async () => {
    const outcome = await provider.charge({
      paymentId: randomUUID(),
      tenant: 'acme',
      invoiceId: randomUUID(),
      customerId: 'cus_123',
      paymentMethodId: 'pm_card_visa',
      amountMinor: 4900,
      currency: 'usd',
    });
    expect(outcome).toEqual({
      providerPaymentId: expect.stringMatching(/^pi_/),
      status: 'pending',
      failureReason: null,
    });
  });
});

describe('webhook verification', () => {
  const event = (type: string) =>
    JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type,
      data: {
        object: {
          id: 'pi_1',
          object: 'payment_intent',
          metadata: { tenant: 'acme', paymentId: 'p-1' },
          last_payment_error: { code: 'card_declined' },
        },
      },
    });

  test('a payload signed with the endpoint secret is read into what billing acts on', () => {
    const payload = event('payment_intent.payment_failed');
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    expect(provider.parseWebhook(payload, header)).toEqual({
      id: 'evt_1',
      providerType: 'payment_intent.payment_failed',
      kind: 'payment_failed',
      paymentId: 'p-1',
      tenant: 'acme',
      providerPaymentId: 'pi_1',
      failureReason: 'card_declined',
    });
    const other = event('invoice.created');
    expect(
      provider.parseWebhook(
        other,
        Stripe.webhooks.generateTestHeaderString({ payload: other, secret: SECRET }),
      ).kind,
    ).toBe('ignored');
  });

  test('another secret, an old timestamp, a changed body or no header do not verify', () => {
    const payload = event('payment_intent.succeeded');
    const wrong = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' });
    expect(() => provider.parseWebhook(payload, wrong)).toThrow(WebhookSignatureError);
    const stale = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    expect(() => provider.parseWebhook(payload, stale)).toThrow(WebhookSignatureError);
    const good = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    expect(() => provider.parseWebhook(payload.replace('acme', 'evil'), good)).toThrow(WebhookSignatureError);
    expect(() => provider.parseWebhook(payload, undefined)).toThrow(WebhookSignatureError);
  });
});
