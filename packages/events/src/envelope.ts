import { randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * The one envelope every event travels in (BRIEF section 6). `id` is what consumers deduplicate by;
 * `aggregateId` is the Kafka key, so the events of one aggregate stay in order on one partition.
 * Unknown extra fields are accepted and kept: a consumer on an older version must not treat an event
 * from a newer producer as invalid.
 */

/** Canonical lowercase UUID, version 4 (random) or 7 (time-ordered). */
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
/** `<domain>.<what_happened>`, e.g. `user.signed_up`, `billing.invoice_issued`. */
export const EVENT_TYPE_PATTERN = '^[a-z]+(\\.[a-z_]+)+$';
/** The Tenant resource's name rule (a DNS label of 3-40 characters). */
const TENANT_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** ISO 8601 date-time with seconds and an explicit zone, as `Date.prototype.toISOString` writes it. */
const ISO_DATE_TIME_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

export const EventEnvelopeSchema = Type.Object({
  id: Type.String({ pattern: UUID_PATTERN, description: 'uuid v4 or v7; consumers deduplicate by it' }),
  type: Type.String({ pattern: EVENT_TYPE_PATTERN, description: 'what happened, e.g. user.signed_up' }),
  tenant: Type.String({ pattern: TENANT_PATTERN, minLength: 3, maxLength: 40 }),
  aggregateId: Type.String({ minLength: 1, maxLength: 200, description: 'Kafka key: orders per aggregate' }),
  occurredAt: Type.String({ pattern: ISO_DATE_TIME_PATTERN, description: 'ISO 8601 date-time' }),
  version: Type.Integer({ minimum: 1, description: "version of the payload's schema for this type" }),
  payload: Type.Unknown(),
});

type EnvelopeFields = Static<typeof EventEnvelopeSchema>;
export type EventEnvelope<P = unknown> = Omit<EnvelopeFields, 'payload'> & { payload: P };

const envelopeChecker = TypeCompiler.Compile(EventEnvelopeSchema);

/** An envelope that failed validation; `field` names the offending field (`(envelope)` for the whole). */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Throws an InvalidEventError naming the first invalid field. */
export function assertEventEnvelope(value: unknown): asserts value is EventEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventError(
      '(envelope)',
      `invalid event: expected a JSON object, got ${describe(value)}`,
    );
  }
  const error = envelopeChecker.Errors(value).First();
  if (error) {
    const field = error.path.replace(/^\//, '') || '(envelope)';
    throw new InvalidEventError(
      field,
      `invalid event: field "${field}" ${error.message.toLowerCase()} (got ${describe(error.value)})`,
    );
  }
  // Required by the schema, but a present-and-undefined key passes it and would vanish in JSON.
  if ((value as { payload?: unknown }).payload === undefined) {
    throw new InvalidEventError('payload', 'invalid event: field "payload" is required (use null for none)');
  }
  // The pattern admits impossible dates such as month 13.
  if (Number.isNaN(Date.parse((value as { occurredAt: string }).occurredAt))) {
    throw new InvalidEventError(
      'occurredAt',
      `invalid event: field "occurredAt" is not a valid date (got ${describe((value as EventEnvelope).occurredAt)})`,
    );
  }
}

export interface NewEvent<P> {
  type: string;
  tenant: string;
  aggregateId: string;
  payload: P;
  /** Schema version of the payload; 1 unless the type's payload changed incompatibly. */
  version?: number;
  /** Defaults to a fresh uuid v4; pass one to make a retried command produce the same event. */
  id?: string;
  /** Defaults to now. */
  occurredAt?: Date | string;
}

/** A validated envelope; throws InvalidEventError naming the field when the input is invalid. */
export function createEvent<P>(input: NewEvent<P>): EventEnvelope<P> {
  const occurredAt = input.occurredAt ?? new Date();
  const event: EventEnvelope<P> = {
    id: input.id ?? randomUUID(),
    type: input.type,
    tenant: input.tenant,
    aggregateId: input.aggregateId,
    occurredAt: occurredAt instanceof Date ? occurredAt.toISOString() : occurredAt,
    version: input.version ?? 1,
    payload: input.payload,
  };
  assertEventEnvelope(event);
  return event;
}

/** The envelope in a Kafka message value; throws InvalidEventError naming the field when invalid. */
export function parseEvent(value: Buffer | string | null): EventEnvelope {
  if (value === null) {
    throw new InvalidEventError('(envelope)', 'invalid event: the message has no value');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (error) {
    throw new InvalidEventError(
      '(envelope)',
      `invalid event: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  assertEventEnvelope(parsed);
  return parsed;
}

/** The bytes the relay publishes: the envelope as JSON. */
export function serializeEvent(event: EventEnvelope): string {
  return JSON.stringify(event);
}
