import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type RequestIdentity, TenantHeaders } from '@tenantry/identity';
import { errorResponses, HttpError } from '@tenantry/service-kit';
import { BILLING_ERROR_CODES } from './billing-errors.ts';
import { WebhookAck } from './billing-schemas.ts';
import { WebhookSignatureError } from './payment-provider.ts';
import type { PaymentDeps } from './payments.ts';
import { applyWebhookEvent } from './webhooks.ts';

export interface WebhookRoutesOptions {
  identity: RequestIdentity;
  payments: PaymentDeps;
}

/**
 * POST /api/billing/webhooks/stripe: the provider's calls, authenticated by their signature (no token),
 * on the tenant's host (the gateway names the tenant). The signature covers the exact bytes sent, so
 * this plugin reads the body as text instead of parsing it.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = async (app, options) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post(
    '/api/billing/webhooks/stripe',
    {
      schema: {
        summary: "Stripe's webhook: verified by signature, applied once per event id",
        description:
          'A bad or stale signature is a 400 and nothing is applied; a replay and event types billing does not act on are acknowledged with applied: false.',
        headers: TenantHeaders,
        response: { 200: WebhookAck, ...errorResponses(400, 404), ...errorResponses(503) },
      },
    },
    async (request) => {
      const tenant = options.identity.tenant(request);
      const signature = request.headers['stripe-signature'];
      let event: ReturnType<PaymentDeps['provider']['parseWebhook']>;
      try {
        event = options.payments.provider.parseWebhook(
          typeof request.body === 'string' ? request.body : '',
          typeof signature === 'string' ? signature : undefined,
        );
      } catch (error) {
        if (!(error instanceof WebhookSignatureError)) throw error;
        throw new HttpError(400, BILLING_ERROR_CODES.WEBHOOK_SIGNATURE_INVALID, error.message, {
          field: '/headers/stripe-signature',
        });
      }
      const applied = await applyWebhookEvent(options.payments, tenant, event);
      return { received: true as const, applied };
    },
  );
};
