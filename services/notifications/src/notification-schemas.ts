import { type Static, Type } from '@sinclair/typebox';
import { CATEGORIES } from './categories.ts';
import { DELIVERY_STATES } from './schema.ts';

/** The HTTP shapes of the notifications API; every route declares its params, query, body and responses. */

const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const categoryFlags = (optional: boolean) =>
  Object.fromEntries(
    CATEGORIES.map((category) => [
      category,
      optional
        ? Type.Optional(Type.Boolean({ description: `Receive ${category} emails` }))
        : Type.Boolean({ description: `Receive ${category} emails` }),
    ]),
  );

export const Preferences = Type.Object(
  { ...categoryFlags(false) },
  { description: 'Per category: whether the caller receives it. security is always true.' },
);
export type Preferences = Static<typeof Preferences>;

export const UpdatePreferencesBody = Type.Object(
  { ...categoryFlags(true) },
  {
    additionalProperties: false,
    minProperties: 1,
    description: `Categories to change: ${CATEGORIES.join(', ')}. security cannot be turned off.`,
  },
);
export type UpdatePreferencesBody = Static<typeof UpdatePreferencesBody>;

export const Delivery = Type.Object({
  id: Type.String({ format: 'uuid' }),
  eventId: Type.String({ format: 'uuid' }),
  eventType: Type.String(),
  recipient: Type.String(),
  template: Type.String({ description: 'name/vN' }),
  category: Type.String(),
  state: Type.Union(DELIVERY_STATES.map((state) => Type.Literal(state))),
  attempts: Type.Integer(),
  nextAttemptAt: nullable(Timestamp),
  lastError: nullable(
    Type.String({ description: 'Why the last attempt failed (dead: why it was given up)' }),
  ),
  messageId: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  sentAt: nullable(Timestamp),
});
export type Delivery = Static<typeof Delivery>;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export const ListDeliveriesQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(DELIVERY_STATES.map((state) => Type.Literal(state)))),
    recipient: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
  },
  { additionalProperties: false },
);

export const DeliveryList = Type.Object({
  items: Type.Array(Delivery, { description: 'Newest first' }),
});

export const DeliveryParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const UnsubscribeQuery = Type.Object({
  token: Type.String({ minLength: 10, maxLength: 2_000 }),
});

export const Unsubscribed = Type.Object({
  category: Type.String(),
  unsubscribed: Type.Literal(true),
});
