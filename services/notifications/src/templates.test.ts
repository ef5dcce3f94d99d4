import { describe, expect, test } from 'vitest';
import { composeMail } from './compose-mail.ts';
import { TEMPLATES, type TemplateName } from './templates.ts';
import { unsubscribeTokens } from './unsubscribe-token.ts';

/**
 * Every template rendered with a sample of what its event brings, through the composer the worker
 * uses: a variable the view does not provide, a misspelt filter or a broken layout fails here
 * (the engines are strict), not in a tenant's inbox.
 */
const SAMPLES: Record<TemplateName, Record<string, unknown>> = {
  welcome: { email: 'ada@example.test' },
  'email-verification': {
    email: 'ada@example.test',
    token: 'tok/en+with=chars',
    expiresAt: '2030-01-02T03:04:05.000Z',
  },
  'admin-invitation': {
    email: 'boss@example.test',
    token: 'invite/token',
    expiresAt: '2030-01-09T03:04:05.000Z',
  },
  'password-reset': {
    email: 'ada@example.test',
    token: 'reset-token',
    expiresAt: '2030-01-02T03:04:05.000Z',
  },
  'invoice-issued': {
    invoiceId: 'in_123',
    number: 'INV-0042',
    periodStart: '2030-01-01T00:00:00.000Z',
    periodEnd: '2030-02-01T00:00:00.000Z',
    totalMinor: 2599,
    currency: 'eur',
    dueAt: '2030-02-15T00:00:00.000Z',
  },
  'payment-failed': {
    invoiceId: 'in_123',
    amountMinor: 1000,
    currency: 'jpy',
    reason: 'card_declined <b>',
    nextAttemptAt: null,
  },
  'quota-threshold': {
    threshold: 80,
    usedTokens: 800000,
    quotaTokens: 1000000,
    periodEnd: '2030-02-01T00:00:00.000Z',
  },
};

const tenant = {
  name: 'acme',
  displayName: 'Acme <script>alert(1)</script> & Co',
  host: 'acme.example.test',
};
const tokens = unsubscribeTokens('x'.repeat(32), 30);

async function compose(template: TemplateName, data = SAMPLES[template]) {
  return composeMail(
    {
      recipient: 'ada@example.test',
      template,
      templateVersion: TEMPLATES[template].version,
      category: TEMPLATES[template].category,
      data,
      messageId: '<e.1@acme.notifications.tenantry>',
      eventId: '00000000-0000-4000-8000-000000000000',
    },
    { tenant, from: 'notifications@tenantry.test', scheme: 'https', tokens },
  );
}

describe.each(Object.keys(TEMPLATES) as TemplateName[])('template %s', (template) => {
  test('renders subject, HTML and text with the tenant branding, escaped in HTML', async () => {
    const mail = await compose(template);
    const html = String(mail.html);
    const text = String(mail.text);
    expect(String(mail.subject)).not.toMatch(/\n|\{\{|\{%/);
    expect(String(mail.subject).length).toBeGreaterThan(5);
    expect(html).toContain('Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    expect(html).not.toContain('<script>');
    expect(html).toContain('https://acme.example.test');
    expect(text).toContain('https://acme.example.test/');
    expect(`${html}${text}`).not.toMatch(/\{\{|\{%|undefined|NaN|\[object/);
    expect(mail.from).toEqual({ name: tenant.displayName, address: 'notifications@tenantry.test' });
    expect(mail.messageId).toBe('<e.1@acme.notifications.tenantry>');
  });

  test('a sample missing a field fails to render rather than mailing a hole', async () => {
    const [first] = Object.keys(SAMPLES[template]);
    const { [first as string]: _dropped, ...rest } = SAMPLES[template];
    // The views read every field; a missing one renders as "undefined" or fails the strict engine.
    const outcome = await compose(template, rest).then(
      (mail) => `${String(mail.subject)}${String(mail.html)}${String(mail.text)}`,
      (error: Error) => `failed: ${error.message}`,
    );
    expect(outcome).toMatch(/failed: |undefined|NaN|Invalid/);
  });
});

test('security mail has no unsubscribe; every other mail has the RFC 8058 headers and a body link', async () => {
  for (const template of Object.keys(TEMPLATES) as TemplateName[]) {
    const mail = await compose(template);
    const headers = mail.headers as Record<string, string>;
    if (TEMPLATES[template].category === 'security') {
      expect(headers['List-Unsubscribe'], template).toBeUndefined();
      expect(String(mail.text)).not.toContain('/unsubscribe');
    } else {
      expect(headers['List-Unsubscribe'], template).toMatch(
        /^<https:\/\/acme\.example\.test\/api\/notifications\/unsubscribe\?token=[\w.-]+>$/,
      );
      expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      const link = headers['List-Unsubscribe']?.slice(1, -1) ?? '';
      expect(String(mail.text)).toContain(link);
      expect(String(mail.html)).toContain(link);
    }
  }
});

test('links carry tokens URL-encoded, money and counts are formatted', async () => {
  const verification = await compose('email-verification');
  expect(String(verification.text)).toContain(
    'https://acme.example.test/verify-email?token=tok%2Fen%2Bwith%3Dchars',
  );
  expect(String(verification.text)).toContain('2030-01-02 03:04 UTC');
  const invoice = await compose('invoice-issued');
  expect(String(invoice.subject)).toContain('€25.99');
  expect(String(invoice.text)).toContain('https://acme.example.test/billing/invoices/in_123');
  const payment = await compose('payment-failed');
  expect(String(payment.subject)).toContain('¥1,000');
  expect(String(payment.html)).toContain('card_declined &lt;b&gt;');
  expect(String(payment.text)).toContain('will not try again');
  const quota = await compose('quota-threshold');
  expect(String(quota.text)).toContain('800,000 of 1,000,000');
  const full = await compose('quota-threshold', { ...SAMPLES['quota-threshold'], threshold: 100 });
  expect(String(full.text)).toContain('has used all of its chat tokens');
});

test('unsubscribe tokens verify, and refuse tampering, other secrets and locked categories', async () => {
  const token = await tokens.sign({ tenant: 'acme', email: 'ada@example.test', category: 'billing' });
  expect(await tokens.verify(token)).toEqual({
    tenant: 'acme',
    email: 'ada@example.test',
    category: 'billing',
  });
  expect(await unsubscribeTokens('y'.repeat(32), 30).verify(token)).toBeUndefined();
  expect(await tokens.verify(`${token.slice(0, -2)}xx`)).toBeUndefined();
  const security = await tokens.sign({ tenant: 'acme', email: 'ada@example.test', category: 'security' });
  expect(await tokens.verify(security)).toBeUndefined();
});
