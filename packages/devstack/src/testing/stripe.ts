import { inject } from 'vitest';

/** How the official SDK reaches stripe-mock: `new Stripe(apiKey, { host, port, protocol })`. */
export interface StripeMockOptions {
  apiKey: string;
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

/**
 * The test devstack's stripe-mock (or another stack's, from its `endpoints.stripe`), in the shape the
 * SDK's constructor takes. stripe-mock keeps no state: assert on what the SDK sent and on the shape of
 * the answers, never on reading back a value written earlier.
 */
export function stripeMock(
  stripe: { url: string; apiKey: string } = inject('devstack').stripe,
): StripeMockOptions {
  const url = new URL(stripe.url);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return {
    apiKey: stripe.apiKey,
    host: url.hostname,
    port: Number(url.port || (protocol === 'https' ? 443 : 80)),
    protocol,
  };
}
