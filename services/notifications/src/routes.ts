import { type FastifyPluginAsyncTypebox, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authenticatedErrors, type RequestIdentity, TenantHeaders } from '@tenantry/identity';
import { errorResponses, strictBody } from '@tenantry/service-kit';
import type { TenantDatabases } from '@tenantry/tenant-db';
import { type Category, LOCKED_CATEGORIES } from './categories.ts';
import { UNSUBSCRIBE_PATH } from './compose-mail.ts';
import { normalizeAddress } from './event-mail.ts';
import {
  Delivery,
  DeliveryList,
  DeliveryParams,
  ListDeliveriesQuery,
  Preferences,
  Unsubscribed,
  UnsubscribeQuery,
  UpdatePreferencesBody,
} from './notification-schemas.ts';
import {
  findDelivery,
  listDeliveries,
  readPreferences,
  requeueDead,
  writePreferences,
} from './notification-store.ts';
import {
  categoryLocked,
  deliveryNotDead,
  deliveryNotFound,
  unsubscribeTokenInvalid,
} from './notifications-errors.ts';
import type { DeliveryRow } from './schema.ts';
import type { UnsubscribeTokens } from './unsubscribe-token.ts';

export interface NotificationsRoutesOptions {
  identity: RequestIdentity;
  databases: TenantDatabases;
  tokens: UnsubscribeTokens;
  /** A requeued delivery is sent at the worker's next pass over its tenant. */
  onRequeued: (tenant: string) => void;
}

const unavailable = errorResponses(503);

/** The token is a verified JWT (base64url and dots, which encoding leaves as they are); encoded all the same. */
function unsubscribePage(token: string, category: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><form method="post" action="${UNSUBSCRIBE_PATH}?token=${encodeURIComponent(token)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<p>Stop receiving ${category} emails?</p><button type="submit">Unsubscribe</button></form></body></html>`;
}

function toDelivery(row: DeliveryRow): Delivery {
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType,
    recipient: row.recipient,
    template: `${row.template}/v${row.templateVersion}`,
    category: row.category,
    state: row.state,
    attempts: row.attempts,
    // Only rows waiting to be sent have a next attempt.
    nextAttemptAt: row.state === 'queued' || row.state === 'retrying' ? iso(row.nextAttemptAt) : null,
    lastError: row.lastError,
    messageId: row.messageId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    sentAt: iso(row.sentAt),
  };
}

/**
 * The notifications API. Every handler resolves the tenant through identity (the gateway's header)
 * and queries only `databases.drizzle(tenant)`, that tenant's database under its own credentials.
 * Preferences are the caller's own, keyed by the address in their token.
 */
export const notificationsRoutes: FastifyPluginAsyncTypebox<NotificationsRoutesOptions> = async (
  app,
  options,
) => {
  const { identity, databases, tokens, onRequeued } = options;

  // RFC 8058: mail clients post `List-Unsubscribe=One-Click` as a form; its content is fixed and unused.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get(
    '/api/notifications/preferences',
    {
      schema: {
        summary: "The caller's email preferences, per category",
        headers: TenantHeaders,
        response: { 200: Preferences, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request);
      return readPreferences(databases.drizzle(caller.tenant), normalizeAddress(caller.email));
    },
  );

  app.put(
    '/api/notifications/preferences',
    {
      schema: {
        summary: "Changes the caller's email preferences",
        description:
          'Only the categories given change. An unknown category is refused naming it; security cannot be turned off.',
        headers: TenantHeaders,
        body: UpdatePreferencesBody,
        response: { 200: Preferences, ...authenticatedErrors, ...unavailable },
      },
      // TypeBox rather than the app's AJV for the body: AJV coerces ("false" → false) and strips
      // undeclared properties, so a misspelt category would be a silent no-op.
      validatorCompiler: (part) =>
        TypeBoxValidatorCompiler({ ...part, schema: part.schema as unknown as TSchema }),
      preValidation: strictBody(UpdatePreferencesBody),
    },
    async (request) => {
      const caller = await identity.caller(request);
      for (const [category, enabled] of Object.entries(request.body)) {
        if (enabled === false && LOCKED_CATEGORIES.has(category as Category)) throw categoryLocked(category);
      }
      const db = databases.drizzle(caller.tenant);
      const email = normalizeAddress(caller.email);
      await writePreferences(db, email, request.body);
      return readPreferences(db, email);
    },
  );

  app.post(
    UNSUBSCRIBE_PATH,
    {
      schema: {
        summary: 'One-click unsubscribe (RFC 8058)',
        description:
          "The link of a mail's List-Unsubscribe header: turns the mail's category off for its recipient. " +
          'No access token: the signed, expiring token in the link is the authority, bound to its tenant.',
        headers: TenantHeaders,
        querystring: UnsubscribeQuery,
        response: { 200: Unsubscribed, ...errorResponses(400, 404), ...unavailable },
      },
    },
    async (request) => {
      const tenant = identity.tenant(request);
      const claims = await tokens.verify(request.query.token);
      // A token of another tenant is as good as a forged one here.
      if (!claims || claims.tenant !== tenant) throw unsubscribeTokenInvalid();
      await writePreferences(databases.drizzle(tenant), normalizeAddress(claims.email), {
        [claims.category]: false,
      });
      request.log.info({ tenant, category: claims.category }, 'one-click unsubscribe');
      return { category: claims.category, unsubscribed: true as const };
    },
  );

  app.get(
    UNSUBSCRIBE_PATH,
    {
      schema: {
        summary: 'The page of the unsubscribe link in a mail body',
        description:
          'Changes nothing (RFC 8058: link checkers and prefetchers open links): a page whose button POSTs the same link.',
        headers: TenantHeaders,
        querystring: UnsubscribeQuery,
        produces: ['text/html'],
        response: { 200: Type.String(), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const tenant = identity.tenant(request);
      const claims = await tokens.verify(request.query.token);
      if (!claims || claims.tenant !== tenant) throw unsubscribeTokenInvalid();
      return reply
        .type('text/html; charset=utf-8')
        .send(unsubscribePage(request.query.token, claims.category));
    },
  );

  app.get(
    '/api/notifications/deliveries',
    {
      schema: {
        summary: "The tenant's deliveries, newest first",
        description:
          'Admins and owners only. status=dead lists the dead-letter, with the reason in lastError.',
        headers: TenantHeaders,
        querystring: ListDeliveriesQuery,
        response: { 200: DeliveryList, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      const { status, recipient, limit } = request.query;
      const rows = await listDeliveries(databases.drizzle(caller.tenant), {
        limit,
        ...(status ? { status } : {}),
        ...(recipient ? { recipient: normalizeAddress(recipient) } : {}),
      });
      return { items: rows.map(toDelivery) };
    },
  );

  app.post(
    '/api/notifications/deliveries/:id/retry',
    {
      schema: {
        summary: 'Sends a dead delivery again',
        description:
          'Admins and owners only. The delivery is queued with a fresh set of attempts and its Message-ID.',
        headers: TenantHeaders,
        params: DeliveryParams,
        response: { 202: Delivery, ...authenticatedErrors, ...errorResponses(409), ...unavailable },
      },
    },
    async (request, reply) => {
      const caller = await identity.caller(request, 'admin');
      const db = databases.drizzle(caller.tenant);
      const { id } = request.params;
      const requeued = await requeueDead(db, id);
      if (!requeued) {
        const existing = await findDelivery(db, id);
        throw existing ? deliveryNotDead(id, existing.state) : deliveryNotFound(id);
      }
      onRequeued(caller.tenant);
      return reply.code(202).send(toDelivery(requeued));
    },
  );
};
