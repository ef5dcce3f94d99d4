import { createEvent } from '@tenantry/events';
import { expect, test } from 'vitest';
import { backoffMs } from './delivery-worker.ts';
import { messageIdOf, planMails } from './event-mail.ts';
import { classifySendError } from './mailer.ts';

const event = (type: string, payload: unknown) =>
  createEvent({ type, tenant: 'acme', aggregateId: 'agg', payload });

test('each mailed event type maps to its template and recipients; others are ignored', () => {
  const admins = ['owner@acme.test', 'admin@acme.test'];
  const plan = (type: string, payload: unknown) => planMails(event(type, payload), admins);
  expect(plan('user.signed_up', { userId: 'u1', email: ' Ada@Acme.Test ', role: 'member' })).toEqual({
    kind: 'mails',
    mails: [{ recipient: 'ada@acme.test', template: 'welcome', data: { email: ' Ada@Acme.Test ' } }],
  });
  const invitation = {
    userId: 'u2',
    email: 'boss@acme.test',
    token: 't',
    expiresAt: '2030-01-01T00:00:00.000Z',
  };
  expect(plan('user.invitation_requested', invitation)).toEqual({
    kind: 'mails',
    mails: [
      {
        recipient: 'boss@acme.test',
        template: 'admin-invitation',
        data: { email: 'boss@acme.test', token: 't', expiresAt: invitation.expiresAt },
      },
    ],
  });
  const invoice = plan('billing.invoice_issued', {
    invoiceId: 'in_1',
    number: 'INV-1',
    periodStart: '2030-01-01T00:00:00Z',
    periodEnd: '2030-02-01T00:00:00Z',
    totalMinor: 100,
    currency: 'usd',
    dueAt: '2030-02-15T00:00:00Z',
    recipients: ['a@acme.test', 'A@acme.test', 'b@acme.test'],
  });
  expect(invoice.kind === 'mails' && invoice.mails.map((m) => m.recipient)).toEqual([
    'a@acme.test',
    'b@acme.test',
  ]);
  const quota = plan('chat.quota_threshold_reached', {
    threshold: 80,
    periodStart: '2030-01-01T00:00:00Z',
    periodEnd: '2030-02-01T00:00:00Z',
    usedTokens: 8,
    quotaTokens: 10,
  });
  expect(quota.kind === 'mails' && quota.mails.map((m) => [m.recipient, m.template])).toEqual([
    ['owner@acme.test', 'quota-threshold'],
    ['admin@acme.test', 'quota-threshold'],
  ]);
  expect(plan('chat.message_completed', {})).toEqual({ kind: 'ignored' });
  expect(plan('something.new_happened', { whatever: 1 })).toEqual({ kind: 'ignored' });
});

test('a malformed payload is reported with the field at fault', () => {
  const plan = planMails(event('user.password_reset_requested', { userId: 'u1', email: 'a@b.c' }), []);
  expect(plan).toEqual({
    kind: 'malformed',
    reason: expect.stringMatching(/^invalid user.password_reset_requested payload: \/token/),
  });
});

test('the Message-ID depends on tenant, event and recipient only', () => {
  const id = messageIdOf('acme', '11111111-1111-4111-8111-111111111111', 'Ada@Acme.test');
  expect(id).toBe(messageIdOf('acme', '11111111-1111-4111-8111-111111111111', 'ada@acme.test'));
  expect(id).toMatch(/^<11111111-1111-4111-8111-111111111111\.[0-9a-f]{16}@acme\.notifications\.tenantry>$/);
  expect(id).not.toBe(messageIdOf('acme', '11111111-1111-4111-8111-111111111111', 'bob@acme.test'));
  expect(id).not.toBe(messageIdOf('other', '11111111-1111-4111-8111-111111111111', 'ada@acme.test'));
});

test('5xx answers are permanent; 4xx and connection failures are transient', () => {
  expect(
    classifySendError(Object.assign(new Error('x'), { responseCode: 550, response: '550 no such user' })),
  ).toEqual({
    permanent: true,
    reason: '550: 550 no such user',
  });
  expect(
    classifySendError(Object.assign(new Error('x'), { responseCode: 451, response: '451 try later' }))
      .permanent,
  ).toBe(false);
  expect(classifySendError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' }))).toEqual({
    permanent: false,
    reason: 'ESOCKET: connect ECONNREFUSED',
  });
});

test('backoff doubles per attempt up to the cap, with jitter in its upper half', () => {
  expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
  expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
  expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
  expect(backoffMs(30, 1000, 60_000, () => 0.5)).toBe(45_000);
});
