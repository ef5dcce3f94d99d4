import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { loadConfig } from '../config.ts';
import type { Endpoints } from '../endpoints.ts';
import { silentProgress } from '../progress.ts';
import { down, up } from '../stack.ts';
import { devstack, mailpitClient, test, uniqueMailbox } from '../testing/index.ts';
import { versions } from '../versions.ts';

type Smtp = Endpoints['smtp'];

async function send(smtp: Smtp, mail: SendMailOptions, auth?: { user: string; pass: string }) {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: false,
    auth,
    connectionTimeout: 5_000,
  });
  try {
    return await transport.sendMail(mail);
  } finally {
    transport.close();
  }
}

describe('Mailpit on the shared test stack', () => {
  test('a mail sent with nodemailer reads back through the helper: subject, headers, bodies', async () => {
    const to = uniqueMailbox('receipt');
    const messageId = `<${randomUUID()}@billing.tenantry.test>`;
    await send(
      devstack().smtp,
      {
        from: '"Tenantry Billing" <billing@tenantry.test>',
        to,
        subject: 'Your invoice INV-42',
        messageId,
        headers: { 'X-Tenantry-Tenant': 'acme' },
        text: 'Total: 25.99 EUR\n',
        html: '<p>Total: <b>25.99 EUR</b></p>',
      },
      // Any credentials are accepted, as a relay that checks them would accept the right ones.
      { user: 'billing', pass: 'any-password' },
    );

    const mail = mailpitClient();
    const [summary] = await mail.waitForMessages(to, 1);
    expect(summary).toMatchObject({
      subject: 'Your invoice INV-42',
      from: { name: 'Tenantry Billing', address: 'billing@tenantry.test' },
      to: [{ address: to }],
    });
    const message = await mail.message(summary?.id ?? '');
    expect(message.messageId).toBe(messageId.slice(1, -1));
    expect(message.headers['message-id']).toEqual([messageId]);
    expect(message.headers['x-tenantry-tenant']).toEqual(['acme']);
    expect(message.text.trim()).toBe('Total: 25.99 EUR');
    expect(message.html).toContain('<b>25.99 EUR</b>');
  });

  test('messages are found by exact recipient (To or Cc), oldest first, sent without auth', async () => {
    const to = uniqueMailbox('alerts');
    const lookalike = `x${to}`;
    const other = uniqueMailbox('other');
    const smtp = devstack().smtp;
    await send(smtp, { from: 'alerts@tenantry.test', to, subject: 'first', text: '1' });
    await send(smtp, { from: 'alerts@tenantry.test', to: lookalike, subject: 'lookalike', text: '2' });
    await send(smtp, { from: 'alerts@tenantry.test', to: other, cc: to, subject: 'second', text: '3' });

    const mail = mailpitClient();
    const messages = await mail.waitForMessages(to, 2);
    expect(messages.map((m) => m.subject)).toEqual(['first', 'second']);
    expect((await mail.messagesTo(lookalike)).map((m) => m.subject)).toEqual(['lookalike']);
    await expect(
      mail.waitForMessages(uniqueMailbox('nobody'), 1, { timeout: 300, interval: 100 }),
    ).rejects.toThrow(/received 0/);
  });
});

/**
 * Stopping the shared Mailpit would fail other test files' sends, so this runs a Mailpit of its own
 * (a second stack with only that component), the way the events package stops Kafka.
 */
describe('Mailpit stopped and started alone', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tenantry-mailpit-'));
  const privateStack = loadConfig('test', {
    ...process.env,
    TENANTRY_STATE_DIR: stateDir,
    TENANTRY_INFRA: 'local',
  });
  let endpoints: Endpoints;

  beforeAll(async () => {
    ({ endpoints } = await up(privateStack, silentProgress, { only: ['mailpit'] }));
  }, 180_000);

  afterAll(async () => {
    await down(privateStack, silentProgress);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('mail kept before a restart is still there; sends fail while it is down and work after', async () => {
    const to = uniqueMailbox('outage');
    const mail = mailpitClient(endpoints.mailpit.apiUrl);
    const message = (subject: string) => ({ from: 'ops@tenantry.test', to, subject, text: subject });
    await send(endpoints.smtp, message('before'));
    await mail.waitForMessages(to, 1);

    await down(privateStack, silentProgress, { only: ['mailpit'] });
    await expect(send(endpoints.smtp, message('during'))).rejects.toThrow(/ECONNREFUSED/);

    const again = await up(privateStack, silentProgress, { only: ['mailpit'] });
    expect(again.started).toEqual(['mailpit']);
    expect(again.endpoints.smtp).toEqual(endpoints.smtp);
    await send(endpoints.smtp, message('after'));
    expect((await mail.waitForMessages(to, 2)).map((m) => m.subject)).toEqual(['before', 'after']);
  });

  test('it runs the pinned version, with its web UI built in', async () => {
    const info = (await (await fetch(`${endpoints.mailpit.apiUrl}/info`)).json()) as { Version: string };
    expect(info.Version).toBe(versions.mailpit);

    const page = await fetch(endpoints.mailpit.uiUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/dist\/app\.js/);
    const bundle = await fetch(new URL('dist/app.js', endpoints.mailpit.uiUrl));
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
