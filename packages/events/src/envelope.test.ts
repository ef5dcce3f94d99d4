import { describe, expect, test } from 'vitest';
import {
  createEvent,
  type EventEnvelope,
  InvalidEventError,
  parseEvent,
  serializeEvent,
} from './envelope.ts';

const valid: EventEnvelope = {
  id: '0190f5b4-7a1e-7c3d-9f10-2b3c4d5e6f70',
  type: 'user.signed_up',
  tenant: 'acme',
  aggregateId: 'user-1',
  occurredAt: '2025-01-02T03:04:05.678Z',
  version: 1,
  payload: { email: 'a@acme.test' },
};

function fieldOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidEventError) return error.field;
    throw error;
  }
  return undefined;
}

describe('createEvent', () => {
  test('fills id (uuid v4), occurredAt (now) and version 1', () => {
    const before = Date.now();
    const event = createEvent({
      type: 'chat.message_completed',
      tenant: 'acme',
      aggregateId: 'c-1',
      payload: null,
    });

    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(before);
    expect(event).toMatchObject({ version: 1, payload: null, type: 'chat.message_completed' });
  });

  test('keeps a given id, version and occurredAt (a Date becomes ISO 8601)', () => {
    const event = createEvent({ ...valid, occurredAt: new Date(valid.occurredAt), version: 3 });

    expect(event).toEqual({ ...valid, version: 3 });
  });

  test('refuses an invalid type, naming the field', () => {
    expect(() => createEvent({ ...valid, type: 'UserSignedUp' })).toThrow(/field "type"/);
    expect(fieldOf(() => createEvent({ ...valid, type: 'user' }))).toBe('type');
    expect(fieldOf(() => createEvent({ ...valid, type: 'billing.invoice_issued' }))).toBeUndefined();
  });

  test('refuses a payload that is undefined', () => {
    expect(fieldOf(() => createEvent({ ...valid, payload: undefined }))).toBe('payload');
  });
});

describe('parseEvent', () => {
  test('round-trips what serializeEvent writes', () => {
    expect(parseEvent(Buffer.from(serializeEvent(valid)))).toEqual(valid);
  });

  test('keeps fields it does not know (a newer producer)', () => {
    expect(parseEvent(JSON.stringify({ ...valid, schema: 'x' }))).toMatchObject({ schema: 'x' });
  });

  test.each([
    ['id', { ...valid, id: 'not-a-uuid' }],
    ['id', { ...valid, id: '0190f5b4-7a1e-1c3d-9f10-2b3c4d5e6f70' }],
    ['type', { ...valid, type: 'user.Signed-Up' }],
    ['tenant', { ...valid, tenant: 'Acme' }],
    ['aggregateId', { ...valid, aggregateId: '' }],
    ['occurredAt', { ...valid, occurredAt: 'yesterday' }],
    ['occurredAt', { ...valid, occurredAt: '2025-13-02T03:04:05Z' }],
    ['version', { ...valid, version: 0 }],
    ['version', { ...valid, version: 1.5 }],
    ['payload', { ...valid, payload: undefined }],
  ])('names the invalid field: %s', (field, envelope) => {
    const text = JSON.stringify(envelope);
    expect(fieldOf(() => parseEvent(text))).toBe(field);
    expect(() => parseEvent(text)).toThrow(`invalid event: field "${field}"`);
  });

  test('names a missing field', () => {
    const { tenant: _tenant, ...withoutTenant } = valid;
    expect(() => parseEvent(JSON.stringify(withoutTenant))).toThrow(
      /field "tenant" expected required property/,
    );
  });

  test('refuses what is not a JSON object', () => {
    expect(() => parseEvent('{not json')).toThrow(/invalid event: not JSON/);
    expect(() => parseEvent('[1]')).toThrow(/expected a JSON object/);
    expect(() => parseEvent(null)).toThrow(/no value/);
  });
});
