import Stripe from 'stripe';
import { expect } from 'vitest';
import { stripeMock, test } from '../testing/index.ts';

function client(apiKey = stripeMock().apiKey): Stripe {
  const { host, port, protocol } = stripeMock();
  return new Stripe(apiKey, { host, port, protocol, maxNetworkRetries: 0 });
}

test('the official SDK creates a customer and a payment intent for it', async () => {
  const stripe = client();
  const customer = await stripe.customers.create({
    email: 'ada@acme.test',
    name: 'Ada Lovelace',
    metadata: { tenant: 'acme' },
  });
  expect(customer.object).toBe('customer');
  expect(customer.id).toMatch(/^cus_/);
  // stripe-mock reflects the parameters it was sent into the fixture it answers with.
  expect(customer.email).toBe('ada@acme.test');

  const intent = await stripe.paymentIntents.create({
    amount: 2599,
    currency: 'eur',
    customer: customer.id,
    description: 'Tenantry Pro, December',
    metadata: { invoice: 'inv-1' },
  });
  expect(intent.object).toBe('payment_intent');
  expect(intent.id).toMatch(/^pi_/);
  expect(intent.amount).toBe(2599);
  expect(intent.currency).toBe('eur');
  expect(intent.client_secret).toEqual(expect.any(String));
});

test('requests are checked against Stripe’s spec: a missing parameter and a bad key are refused', async () => {
  await expect(
    client().paymentIntents.create({ currency: 'eur' } as Stripe.PaymentIntentCreateParams),
  ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', message: expect.stringMatching(/amount/) });

  await expect(client('not-a-stripe-key').customers.list({ limit: 1 })).rejects.toMatchObject({
    type: 'StripeAuthenticationError',
    statusCode: 401,
  });
});
