import { randomUUID } from 'node:crypto';
import { devstack, mailpitClient, uniqueMailbox } from '@tenantry/devstack/testing';
import { createEvent, serializeEvent } from '@tenantry/events';
import { TENANT_HEADER } from '@tenantry/identity';
import { eventsTopic } from '@tenantry/tenant-api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { messageIdOf } from './event-mail.ts';
import { EVENTUALLY, type NotificationsHarness, startNotificationsHarness } from './test-support.ts';

/**
 * The notifications service end to end against the shared devstack's Mailpit: events appended to a
 * tenant's outbox (or produced straight to its topic), consumed, rendered, sent over pooled SMTP and
 * read back from Mailpit by recipient. Every test mails addresses of its own.
 */

let n: NotificationsHarness;
let tenantA: string;
let tenantB: string;
const mail = mailpitClient();

beforeAll(async () => {
  n = await startNotificationsHarness({
    prefixes: ['ntf-a', 'ntf-b'],
    smtp: devstack().smtp,
    displayNames: { 'ntf-a': 'Acme <Rockets> & Co', 'ntf-b': 'Globex' },
  });
  [tenantA = '', tenantB = ''] = n.tenants;
});

afterAll(async () => {
  await n?.stop();
});

const hostOf = (tenant: string) => `${tenant}.${n.h.baseDomain}`;

async function only(address: string) {
  const [summary, ...rest] = await mail.waitForMessages(address, 1, EVENTUALLY);
  expect(rest).toEqual([]);
  return mail.message(summary?.id ?? '');
}

async function processed(tenant: string, eventId: string) {
  return n.runtime.databases.sql(tenant)<{ failure: string | null }[]>`
    select failure from processed_events where consumer = 'notifications' and event_id = ${eventId}
  `;
}

const invoicePayload = (recipients: string[]) => ({
  invoiceId: `in_${randomUUID().slice(0, 8)}`,
  number: 'INV-0007',
  periodStart: '2030-01-01T00:00:00.000Z',
  periodEnd: '2030-02-01T00:00:00.000Z',
  totalMinor: 4900,
  currency: 'usd',
  dueAt: '2030-02-15T00:00:00.000Z',
  recipients,
});

describe('mail from events', () => {
  test('user.signed_up: a welcome mail branded for the tenant, Message-ID from the event, one-click unsubscribe', async () => {
    const to = uniqueMailbox('welcome');
    const event = await n.publish(tenantA, 'user.signed_up', {
      userId: randomUUID(),
      email: to,
      role: 'member',
    });
    const message = await only(to);
    expect(message.subject).toBe('Welcome to Acme <Rockets> & Co');
    expect(message.from).toEqual({ name: 'Acme <Rockets> & Co', address: 'notifications@tenantry.test' });
    expect(`<${message.messageId}>`).toBe(messageIdOf(tenantA, event.id, to));
    expect(message.html).toContain('Acme &lt;Rockets&gt; &amp; Co');
    expect(message.text).toContain(`http://${hostOf(tenantA)}/`);
    expect(message.headers['list-unsubscribe-post']).toEqual(['List-Unsubscribe=One-Click']);
    expect(message.headers['list-unsubscribe']?.[0]).toMatch(
      new RegExp(`^<http://${hostOf(tenantA).replaceAll('.', '\\.')}/api/notifications/unsubscribe\\?token=`),
    );

    const admin = await n.caller(tenantA, 'admin');
    const sent = await n.call(admin, 'GET', `/api/notifications/deliveries?status=sent&recipient=${to}`);
    expect(sent.status).toBe(200);
    expect(sent.body.items).toEqual([
      expect.objectContaining({
        eventId: event.id,
        recipient: to,
        template: 'welcome/v1',
        category: 'account',
        state: 'sent',
        attempts: 1,
        lastError: null,
        sentAt: expect.stringMatching(/Z$/),
      }),
    ]);
  });

  test('verification and reset: the link on the tenant host, no unsubscribe (security mail)', async () => {
    const to = uniqueMailbox('security');
    const userId = randomUUID();
    const expiresAt = '2030-06-01T12:00:00.000Z';
    await n.publish(
      tenantA,
      'user.email_verification_requested',
      { userId, email: to, token: 'verify+me/1', expiresAt },
      userId,
    );
    await n.publish(
      tenantA,
      'user.password_reset_requested',
      { userId, email: to, token: 'reset-2', expiresAt },
      userId,
    );
    // Two deliveries, sent concurrently: told apart by subject, not by arrival order.
    const delivered = await Promise.all(
      (await mail.waitForMessages(to, 2, EVENTUALLY)).map((summary) => mail.message(summary.id)),
    );
    const bySubject = (part: string) => delivered.find((message) => message.subject.includes(part));
    const first = bySubject('Confirm your email address') ?? delivered[0];
    const second = bySubject('Reset your') ?? delivered[1];
    if (!first || !second) throw new Error('two mails were expected');
    expect(first.subject).toContain('Confirm your email address');
    expect(first.text).toContain(`http://${hostOf(tenantA)}/verify-email?token=verify%2Bme%2F1`);
    expect(first.text).toContain('2030-06-01 12:00 UTC');
    expect(second.text).toContain(`http://${hostOf(tenantA)}/reset-password?token=reset-2`);
    for (const message of [first, second]) expect(message.headers['list-unsubscribe']).toBeUndefined();
  });

  test('billing mails go to the payload recipients; quota alerts to the admins known from signups', async () => {
    const [owner, admin, member, payer] = ['owner', 'admin', 'member', 'payer'].map((p) => uniqueMailbox(p));
    for (const [email, role] of [
      [owner, 'owner'],
      [admin, 'admin'],
      [member, 'member'],
    ] as const) {
      await n.publish(tenantB, 'user.signed_up', { userId: randomUUID(), email, role });
    }
    for (const address of [owner, admin, member]) await mail.waitForMessages(address ?? '', 1, EVENTUALLY);

    await n.publish(tenantB, 'billing.invoice_issued', invoicePayload([payer ?? '', owner ?? '']));
    await n.publish(tenantB, 'billing.payment_failed', {
      paymentId: 'pay_1',
      invoiceId: 'in_1',
      amountMinor: 4900,
      currency: 'usd',
      reason: 'card_declined',
      nextAttemptAt: '2030-02-20T00:00:00.000Z',
      recipients: [payer],
    });
    await n.publish(tenantB, 'chat.quota_threshold_reached', {
      threshold: 80,
      periodStart: '2030-01-01T00:00:00.000Z',
      periodEnd: '2030-02-01T00:00:00.000Z',
      usedTokens: 80_000,
      quotaTokens: 100_000,
    });

    const payerMail = await mail.waitForMessages(payer ?? '', 2, EVENTUALLY);
    expect(payerMail.map((m) => m.subject).sort()).toEqual([
      'Globex invoice INV-0007: $49.00 due 2030-02-15',
      'Payment of $49.00 to Globex failed',
    ]);
    const ownerMail = await mail.waitForMessages(owner ?? '', 3, EVENTUALLY);
    expect(ownerMail.map((m) => m.subject).sort()).toEqual([
      'Globex has used 80% of its chat tokens',
      'Globex invoice INV-0007: $49.00 due 2030-02-15',
      'Welcome to Globex',
    ]);
    const adminMail = await mail.waitForMessages(admin ?? '', 2, EVENTUALLY);
    expect(adminMail.map((m) => m.subject).sort()).toEqual([
      'Globex has used 80% of its chat tokens',
      'Welcome to Globex',
    ]);
    expect((await mail.messagesTo(member ?? '')).map((m) => m.subject)).toEqual(['Welcome to Globex']);
  });

  test("a quota threshold of one user's own limit goes to that user, not the admins", async () => {
    const [owner, member] = [uniqueMailbox('quota-owner'), uniqueMailbox('quota-member')];
    const memberId = randomUUID();
    await n.publish(tenantA, 'user.signed_up', { userId: randomUUID(), email: owner, role: 'owner' });
    await n.publish(tenantA, 'user.signed_up', { userId: memberId, email: member, role: 'member' });
    for (const address of [owner, member]) await mail.waitForMessages(address, 1, EVENTUALLY);
    const alert = await n.publish(tenantA, 'chat.quota_threshold_reached', {
      threshold: 100,
      periodStart: '2030-01-01T00:00:00.000Z',
      periodEnd: '2030-02-01T00:00:00.000Z',
      usedTokens: 5_000,
      quotaTokens: 5_000,
      userId: memberId,
    });
    const [, own] = await mail.waitForMessages(member, 2, EVENTUALLY);
    expect(own?.subject).toBe('Acme <Rockets> & Co has used 100% of its chat tokens');
    await expect.poll(async () => (await processed(tenantA, alert.id)).length, EVENTUALLY).toBe(1);
    expect((await mail.messagesTo(owner)).map((m) => m.subject)).toEqual(['Welcome to Acme <Rockets> & Co']);
  });

  test('the same event delivered twice mails once', async () => {
    const to = uniqueMailbox('twice');
    const userId = randomUUID();
    const signedUp = createEvent({
      type: 'user.signed_up',
      tenant: tenantA,
      aggregateId: userId,
      payload: { userId, email: to, role: 'member' },
    });
    const reset = createEvent({
      type: 'user.password_reset_requested',
      tenant: tenantA,
      aggregateId: userId,
      payload: { userId, email: to, token: 't', expiresAt: '2030-01-01T00:00:00.000Z' },
    });
    const producer = n.kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // One key, one partition: once the reset is mailed, both copies were consumed before it.
      await producer.send({
        topic: eventsTopic(tenantA),
        messages: [signedUp, signedUp, reset].map((event) => ({ key: userId, value: serializeEvent(event) })),
      });
    } finally {
      await producer.disconnect();
    }
    const received = await mail.waitForMessages(to, 2, EVENTUALLY);
    await expect.poll(async () => (await processed(tenantA, reset.id)).length, EVENTUALLY).toBe(1);
    expect(received.map((m) => m.subject).sort()).toEqual([
      'Reset your Acme <Rockets> & Co password',
      'Welcome to Acme <Rockets> & Co',
    ]);
    expect((await mail.messagesTo(to)).length).toBe(2);
  });

  test('a malformed payload is recorded with its reason and skipped; the next event of its key is mailed', async () => {
    const to = uniqueMailbox('after-malformed');
    const userId = randomUUID();
    const malformed = await n.publish(
      tenantA,
      'user.email_verification_requested',
      { userId, email: to },
      userId,
    );
    await n.publish(tenantA, 'user.signed_up', { userId, email: to, role: 'member' }, userId);
    const message = await only(to);
    expect(message.subject).toContain('Welcome');
    expect(await processed(tenantA, malformed.id)).toEqual([
      { failure: expect.stringMatching(/^invalid user\.email_verification_requested payload: \/token/) },
    ]);
  });

  test('events the service does not know are passed over', async () => {
    const unknown = await n.publish(tenantA, 'chat.message_completed', { whatever: true });
    const to = uniqueMailbox('after-unknown');
    await n.publish(
      tenantA,
      'user.signed_up',
      { userId: randomUUID(), email: to, role: 'member' },
      unknown.id,
    );
    await only(to);
    expect(await processed(tenantA, unknown.id)).toEqual([]);
  });
});

describe('preferences', () => {
  test('GET gives every category on by default; PUT changes what is given', async () => {
    const user = await n.caller(tenantA, 'member', uniqueMailbox('prefs'));
    const initial = await n.call(user, 'GET', '/api/notifications/preferences');
    expect(initial).toEqual({
      status: 200,
      body: { security: true, account: true, billing: true, usage: true },
    });
    const changed = await n.call(user, 'PUT', '/api/notifications/preferences', {
      billing: false,
      usage: false,
    });
    expect(changed).toEqual({
      status: 200,
      body: { security: true, account: true, billing: false, usage: false },
    });
    const back = await n.call(user, 'PUT', '/api/notifications/preferences', { usage: true });
    expect(back.body).toEqual({ security: true, account: true, billing: false, usage: true });
  });

  test.each<{ what: string; body: unknown; field: string; code: string; message: RegExp }>([
    {
      what: 'an unknown category',
      body: { sms: false },
      field: '/body/sms',
      code: 'VALIDATION_FAILED',
      message: /sms/,
    },
    {
      what: 'an unknown category beside a known one',
      body: { billing: false, marketing: false },
      field: '/body/marketing',
      code: 'VALIDATION_FAILED',
      message: /marketing/,
    },
    {
      what: 'security turned off',
      body: { security: false },
      field: '/body/security',
      code: 'CATEGORY_LOCKED',
      message: /security/,
    },
    {
      what: 'a string for a flag',
      body: { billing: 'false' },
      field: '/body/billing',
      code: 'VALIDATION_FAILED',
      message: /./,
    },
    { what: 'an empty body', body: {}, field: '/body', code: 'VALIDATION_FAILED', message: /./ },
  ])('refuses $what with 400 naming $field', async ({ body, field, code, message }) => {
    const user = await n.caller(tenantA);
    const refused = await n.call(user, 'PUT', '/api/notifications/preferences', body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code, field, message: expect.stringMatching(message) });
  });

  test('a category turned off is not mailed; security mail always is', async () => {
    const optedOut = uniqueMailbox('opted-out');
    const other = uniqueMailbox('opted-in');
    const user = await n.caller(tenantA, 'admin', optedOut);
    expect((await n.call(user, 'PUT', '/api/notifications/preferences', { billing: false })).status).toBe(
      200,
    );
    const invoice = await n.publish(tenantA, 'billing.invoice_issued', invoicePayload([optedOut, other]));
    await only(other);
    await expect.poll(async () => (await processed(tenantA, invoice.id)).length, EVENTUALLY).toBe(1);
    await n.publish(tenantA, 'user.password_reset_requested', {
      userId: user.userId,
      email: optedOut,
      token: 'x',
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    const [reset] = await mail.waitForMessages(optedOut, 1, EVENTUALLY);
    expect(reset?.subject).toContain('Reset your');
    expect((await mail.messagesTo(optedOut)).length).toBe(1);
    const admin = await n.caller(tenantA, 'admin');
    const listed = await n.call(admin, 'GET', `/api/notifications/deliveries?recipient=${optedOut}`);
    expect(listed.body.items.map((d: { template: string }) => d.template)).toEqual(['password-reset/v1']);
  });

  test("one-click unsubscribe: POSTing the mail's List-Unsubscribe link turns its category off", async () => {
    const to = uniqueMailbox('unsubscribe');
    await n.publish(tenantA, 'user.signed_up', { userId: randomUUID(), email: to, role: 'member' });
    const message = await only(to);
    const link = new URL(message.headers['list-unsubscribe']?.[0]?.slice(1, -1) ?? '');
    const post = (tenant: string, token = link.searchParams.get('token') ?? '') =>
      n.app.inject({
        method: 'POST',
        url: `${link.pathname}?token=${encodeURIComponent(token)}`,
        headers: { [TENANT_HEADER]: tenant, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });

    // The link is bound to its tenant and cannot be forged.
    const elsewhere = await post(tenantB);
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().error).toMatchObject({
      code: 'UNSUBSCRIBE_TOKEN_INVALID',
      field: '/query/token',
    });
    expect((await post(tenantA, `${link.searchParams.get('token')}x`)).statusCode).toBe(400);

    // The body link opens a page that changes nothing until its button posts.
    const page = await n.app.inject({
      method: 'GET',
      url: `${link.pathname}${link.search}`,
      headers: { [TENANT_HEADER]: tenantA },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<form method="post"');
    const reader = await n.caller(tenantA, 'member', to);
    expect((await n.call(reader, 'GET', '/api/notifications/preferences')).body.account).toBe(true);

    const done = await post(tenantA);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ category: 'account', unsubscribed: true });
    const user = await n.caller(tenantA, 'member', to);
    expect((await n.call(user, 'GET', '/api/notifications/preferences')).body).toMatchObject({
      account: false,
      billing: true,
    });
  });
});

describe('deliveries API', () => {
  test('admins only; a bad status is 400; retrying a sent or unknown delivery is 409 / 404', async () => {
    const member = await n.caller(tenantA, 'member');
    const refused = await n.call(member, 'GET', '/api/notifications/deliveries');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('ROLE_REQUIRED');
    const admin = await n.caller(tenantA, 'owner');
    const bad = await n.call(admin, 'GET', '/api/notifications/deliveries?status=lost');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toMatch(/^\/query(string)?\/status$/);

    const [sent] = (await n.call(admin, 'GET', '/api/notifications/deliveries?status=sent&limit=1')).body
      .items;
    expect(sent).toBeDefined();
    const again = await n.call(admin, 'POST', `/api/notifications/deliveries/${sent.id}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('DELIVERY_NOT_DEAD');
    const missing = await n.call(admin, 'POST', `/api/notifications/deliveries/${randomUUID()}/retry`);
    expect(missing.status).toBe(404);
    expect((await n.call(member, 'POST', `/api/notifications/deliveries/${sent.id}/retry`)).status).toBe(403);
  });
});

describe('tenant isolation', () => {
  test("the same address in A and B: B's event mails with B's branding only, A's preferences stay A's", async () => {
    const shared = uniqueMailbox('shared');
    const inA = await n.caller(tenantA, 'member', shared);
    expect((await n.call(inA, 'PUT', '/api/notifications/preferences', { account: false })).status).toBe(200);
    const inB = await n.caller(tenantB, 'member', shared);
    expect((await n.call(inB, 'GET', '/api/notifications/preferences')).body.account).toBe(true);

    // A's token at B's host is refused outright.
    const crossed = await n.call(inA, 'GET', '/api/notifications/preferences', undefined, tenantB);
    expect(crossed.status).toBe(401);
    expect(crossed.body.error.code).toBe('TOKEN_INVALID');

    const event = await n.publish(tenantB, 'user.signed_up', {
      userId: randomUUID(),
      email: shared,
      role: 'member',
    });
    const message = await only(shared);
    expect(message.from?.name).toBe('Globex');
    expect(message.headers['x-tenantry-tenant']).toEqual([tenantB]);
    expect(message.text).toContain(hostOf(tenantB));
    expect(message.text).not.toContain(hostOf(tenantA));

    const adminOfA = await n.caller(tenantA, 'admin');
    const seenByA = await n.call(adminOfA, 'GET', `/api/notifications/deliveries?recipient=${shared}`);
    expect(seenByA.body.items).toEqual([]);
    const adminOfB = await n.caller(tenantB, 'admin');
    const seenByB = await n.call(adminOfB, 'GET', `/api/notifications/deliveries?recipient=${shared}`);
    expect(seenByB.body.items.map((d: { eventId: string }) => d.eventId)).toEqual([event.id]);
  });
});

test('GET /metrics has the delivery counters and the send latency; /health names the service', async () => {
  const body = (await n.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(body).toMatch(/^notifications_sent_total\{template="welcome"\} [1-9]\d*$/m);
  expect(body).toMatch(
    /^notifications_send_duration_seconds_count\{template="welcome",outcome="sent"\} [1-9]\d*$/m,
  );
  expect(body).toMatch(/^notifications_suppressed_total\{template="invoice-issued"\} [1-9]\d*$/m);
  expect(body).toContain('# TYPE notifications_dead_total counter');
  const health = await n.app.inject({ method: 'GET', url: '/health' });
  expect(health.json()).toMatchObject({ status: 'healthy', service: 'notifications' });
});
