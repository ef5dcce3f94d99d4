import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@tenantry/devstack';
import { type MailpitClient, mailpitClient, uniqueMailbox, until } from '@tenantry/devstack/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { messageIdOf } from './event-mail.ts';
import { EVENTUALLY, type NotificationsHarness, startNotificationsHarness } from './test-support.ts';

/**
 * Delivery faults against a Mailpit of this file's own (the shared one must never be stopped or
 * made to fail): SMTP answers forced with Mailpit's chaos triggers (5xx: dead-letter and replay;
 * 4xx: retries), and the SMTP server stopped during a burst of events.
 */

/** Mailpit as the devstack builds it, started here on free ports with chaos enabled. */
class OwnMailpit {
  readonly dir = mkdtempSync(join(tmpdir(), 'ntf-mailpit-'));
  #process: ChildProcess | undefined;
  constructor(
    readonly smtpPort: number,
    readonly httpPort: number,
  ) {}

  get apiUrl() {
    return `http://127.0.0.1:${this.httpPort}/api/v1`;
  }

  async start(): Promise<void> {
    const { cacheDir } = loadConfig('test');
    const build = readdirSync(cacheDir).find((entry) => entry.startsWith('mailpit-'));
    if (!build) throw new Error(`no Mailpit build in ${cacheDir}: run the devstack once`);
    this.#process = spawn(
      join(cacheDir, build, 'bin', 'mailpit'),
      [
        ...['--listen', `127.0.0.1:${this.httpPort}`, '--smtp', `127.0.0.1:${this.smtpPort}`],
        // On disk: what arrived before a restart is still counted after it.
        ...['--database', join(this.dir, 'mailpit.db')],
        ...['--enable-chaos', '--max', '0', '--disable-version-check', '--smtp-disable-rdns', '--quiet'],
      ],
      { stdio: 'ignore' },
    );
    await until('our Mailpit to answer', async () =>
      fetch(`${this.apiUrl}/info`).then(
        (r) => r.ok,
        () => false,
      ),
    );
  }

  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Every RCPT TO answered with `code`; 0 turns the trigger off. */
  async failRecipients(code: number): Promise<void> {
    const response = await fetch(`${this.apiUrl}/chaos`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Recipient: { ErrorCode: code || 451, Probability: code ? 100 : 0 } }),
    });
    if (!response.ok) throw new Error(`Mailpit chaos answered ${response.status}`);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

let mailpit: OwnMailpit;
let mail: MailpitClient;
let n: NotificationsHarness;
let tenant: string;

beforeAll(async () => {
  mailpit = new OwnMailpit(await freePort(), await freePort());
  await mailpit.start();
  mail = mailpitClient(mailpit.apiUrl);
  n = await startNotificationsHarness({
    prefixes: ['ntf-f'],
    smtp: { host: '127.0.0.1', port: mailpit.smtpPort },
    displayNames: { 'ntf-f': 'Faulty' },
    env: {
      DELIVERY_BASE_BACKOFF_MS: '200',
      DELIVERY_MAX_BACKOFF_MS: '2000',
      DELIVERY_MAX_ATTEMPTS: '40',
      SMTP_POOL_SIZE: '5',
      // Short for the abandoned-delivery test, yet longer than any send here: a send still running when
      // its lease ends would be sent twice.
      DELIVERY_LEASE_MS: '5000',
    },
  });
  [tenant = ''] = n.tenants;
});

afterAll(async () => {
  await n?.stop();
  await mailpit?.stop();
  if (mailpit) rmSync(mailpit.dir, { recursive: true, force: true });
});

const invoice = (recipient: string, number: string) => ({
  invoiceId: `in_${number}`,
  number,
  periodStart: '2030-01-01T00:00:00.000Z',
  periodEnd: '2030-02-01T00:00:00.000Z',
  totalMinor: 100,
  currency: 'usd',
  dueAt: '2030-02-15T00:00:00.000Z',
  recipients: [recipient],
});

async function deliveriesTo(recipient: string, status?: string) {
  const admin = await n.caller(tenant, 'admin');
  const query = `recipient=${recipient}&limit=200${status ? `&status=${status}` : ''}`;
  const { body } = await n.call(admin, 'GET', `/api/notifications/deliveries?${query}`);
  return body.items as {
    id: string;
    state: string;
    attempts: number;
    lastError: string | null;
    messageId: string;
  }[];
}

test('an SMTP 5xx answer puts the delivery in the dead-letter with the reason; replaying it delivers it', async () => {
  const to = uniqueMailbox('refused');
  await mailpit.failRecipients(550);
  try {
    await n.publish(tenant, 'billing.invoice_issued', invoice(to, 'INV-550'));
    await expect.poll(async () => (await deliveriesTo(to, 'dead')).length, EVENTUALLY).toBe(1);
  } finally {
    await mailpit.failRecipients(0);
  }
  const [dead] = await deliveriesTo(to, 'dead');
  expect(dead).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/^permanent failure: 550\b/) });
  expect(await mail.messagesTo(to)).toEqual([]);

  const admin = await n.caller(tenant, 'admin');
  const replay = await n.call(admin, 'POST', `/api/notifications/deliveries/${dead?.id}/retry`);
  expect(replay.status).toBe(202);
  expect(replay.body).toMatchObject({ id: dead?.id, state: 'queued', attempts: 0 });
  const [delivered] = await mail.waitForMessages(to, 1, EVENTUALLY);
  expect(`<${delivered?.messageId}>`).toBe(dead?.messageId);
  await expect.poll(async () => (await deliveriesTo(to))[0]?.state, EVENTUALLY).toBe('sent');
  expect((await mail.messagesTo(to)).length).toBe(1);
});

test('an SMTP 4xx answer is retried with backoff until it is accepted', async () => {
  const to = uniqueMailbox('greylisted');
  await mailpit.failRecipients(451);
  try {
    await n.publish(tenant, 'billing.invoice_issued', invoice(to, 'INV-451'));
    await expect
      .poll(async () => (await deliveriesTo(to, 'retrying'))[0]?.attempts ?? 0, EVENTUALLY)
      .toBeGreaterThanOrEqual(2);
  } finally {
    await mailpit.failRecipients(0);
  }
  const [retrying] = await deliveriesTo(to);
  expect(retrying?.lastError).toMatch(/^451\b/);
  await mail.waitForMessages(to, 1, EVENTUALLY);
  await expect.poll(async () => (await deliveriesTo(to))[0]?.state, EVENTUALLY).toBe('sent');
  expect((await mail.messagesTo(to)).length).toBe(1);
});

test('a delivery left sending by a crashed replica is sent again after the lease, with the same Message-ID', async () => {
  const to = uniqueMailbox('abandoned');
  const eventId = randomUUID();
  const messageId = messageIdOf(tenant, eventId, to);
  // What a replica leaves when it dies between the relay's answer and its record: a row in `sending`.
  await n.runtime.databases.sql(tenant)`
    insert into deliveries (event_id, event_type, recipient, template, template_version, category, data,
      message_id, state, attempts, updated_at)
    values (${eventId}, 'billing.invoice_issued', ${to}, 'invoice-issued', 1, 'billing',
      ${JSON.stringify(invoice(to, 'INV-CRASH'))}::text::jsonb, ${messageId}, 'sending', 1, now() - interval '1 hour')
  `;
  const [delivered] = await mail.waitForMessages(to, 1, EVENTUALLY);
  expect(`<${delivered?.messageId}>`).toBe(messageId);
  await expect.poll(async () => (await deliveriesTo(to))[0]?.state, EVENTUALLY).toBe('sent');
  expect((await deliveriesTo(to))[0]?.attempts).toBe(2);
});

const BURST = 100;

test(`SMTP server stopped during a burst of ${BURST} events: every mail delivered once it returns, none twice`, async () => {
  const to = uniqueMailbox('burst');
  await mailpit.stop();
  try {
    await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        n.publish(tenant, 'billing.invoice_issued', invoice(to, `INV-B${i}`)),
      ),
    );
    // The outage is felt: every event is queued and sends are failing and being retried.
    await expect
      .poll(async () => {
        const rows = await deliveriesTo(to);
        return rows.length === BURST && rows.filter((d) => d.state === 'retrying').length > BURST / 2;
      }, EVENTUALLY)
      .toBe(true);
  } finally {
    await mailpit.start();
  }
  await mail.waitForMessages(to, BURST, { timeout: 120_000, interval: 500 });
  await expect
    .poll(async () => (await deliveriesTo(to, 'sent')).length, { timeout: 60_000, interval: 500 })
    .toBe(BURST);
  const received = await mail.messagesTo(to);
  expect(received.length).toBe(BURST);
  expect(new Set(received.map((m) => m.messageId)).size).toBe(BURST);
  const rows = await deliveriesTo(to);
  expect(Math.max(...rows.map((d) => d.attempts))).toBeGreaterThan(1);

  const metrics = (await n.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toMatch(/^notifications_retrying_total\{template="invoice-issued"\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^notifications_dead_total\{template="invoice-issued"\} 1$/m);
  expect(metrics).toMatch(/^notifications_failed_total\{template="invoice-issued",kind="permanent"\} 1$/m);
}, 240_000);
