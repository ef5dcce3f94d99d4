import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { EVENT_PAYLOADS, type EventEnvelope } from '@tenantry/events';
import { TEMPLATES, type TemplateName } from './templates.ts';

/**
 * Which mails an event asks for: pure, so every mapping is unit-tested. Payloads are checked against
 * their schemas in @tenantry/events; a payload that fails is reported, never guessed at.
 */

/** The event types this service mails for; the topic's others are not its business. */
export const MAILED_EVENT_TYPES = [
  'user.signed_up',
  'user.email_verification_requested',
  'user.invitation_requested',
  'user.password_reset_requested',
  'billing.invoice_issued',
  'billing.payment_failed',
  'chat.quota_threshold_reached',
] as const;
export type MailedEventType = (typeof MAILED_EVENT_TYPES)[number];

export interface PlannedMail {
  recipient: string;
  template: TemplateName;
  /** What the template's view needs; stored with the delivery. */
  data: Record<string, unknown>;
}

export type EventPlan =
  | { kind: 'mails'; mails: PlannedMail[] }
  | { kind: 'malformed'; reason: string }
  | { kind: 'ignored' };

export function isMailedEventType(type: string): type is MailedEventType {
  return (MAILED_EVENT_TYPES as readonly string[]).includes(type);
}

/** `payload/email: Expected string length greater or equal to 3`, or undefined when valid. */
export function payloadError(event: EventEnvelope): string | undefined {
  const schema = EVENT_PAYLOADS[event.type as keyof typeof EVENT_PAYLOADS];
  if (!schema) return undefined;
  const error = Value.Errors(schema, event.payload).First();
  return error ? `invalid ${event.type} payload: ${error.path || '(payload)'} ${error.message}` : undefined;
}

/** Lower case, trimmed: one address, one mailbox, one set of preferences. */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

function unique(addresses: readonly string[]): string[] {
  return [...new Set(addresses.map(normalizeAddress))];
}

/**
 * `known` are the recipients this service knows for events that name none (quota alerts: the user
 * whose limit it is, else the tenant's owners and admins, from user.signed_up).
 */
export function planMails(event: EventEnvelope, known: readonly string[]): EventPlan {
  if (!isMailedEventType(event.type)) return { kind: 'ignored' };
  const reason = payloadError(event);
  if (reason) return { kind: 'malformed', reason };
  const p = event.payload as Record<string, unknown>;
  const to = (recipients: readonly string[], template: TemplateName, data: Record<string, unknown>) => ({
    kind: 'mails' as const,
    mails: unique(recipients).map((recipient) => ({ recipient, template, data })),
  });
  switch (event.type) {
    case 'user.signed_up':
      return to([String(p.email)], 'welcome', { email: p.email });
    case 'user.email_verification_requested':
      return to([String(p.email)], 'email-verification', {
        email: p.email,
        token: p.token,
        expiresAt: p.expiresAt,
      });
    case 'user.invitation_requested':
      return to([String(p.email)], 'admin-invitation', {
        email: p.email,
        token: p.token,
        expiresAt: p.expiresAt,
      });
    case 'user.password_reset_requested':
      return to([String(p.email)], 'password-reset', {
        email: p.email,
        token: p.token,
        expiresAt: p.expiresAt,
      });
    case 'billing.invoice_issued':
      return to(p.recipients as string[], 'invoice-issued', {
        invoiceId: p.invoiceId,
        number: p.number,
        periodStart: p.periodStart,
        periodEnd: p.periodEnd,
        totalMinor: p.totalMinor,
        currency: p.currency,
        dueAt: p.dueAt,
      });
    case 'billing.payment_failed':
      return to(p.recipients as string[], 'payment-failed', {
        invoiceId: p.invoiceId,
        amountMinor: p.amountMinor,
        currency: p.currency,
        reason: p.reason,
        nextAttemptAt: p.nextAttemptAt,
      });
    case 'chat.quota_threshold_reached':
      return to(known, 'quota-threshold', {
        threshold: p.threshold,
        usedTokens: p.usedTokens,
        quotaTokens: p.quotaTokens,
        periodEnd: p.periodEnd,
      });
  }
}

/**
 * The Message-ID of the mail of `eventId` to `recipient` in `tenant`: the same on every attempt and
 * replay, so a mail sent twice (a crash between the SMTP answer and its record) is recognisable as
 * one by the receiving side and by whoever reads the headers.
 */
export function messageIdOf(tenant: string, eventId: string, recipient: string): string {
  const mailbox = createHash('sha256').update(normalizeAddress(recipient)).digest('hex').slice(0, 16);
  return `<${eventId}.${mailbox}@${tenant}.notifications.tenantry>`;
}

export function categoryOf(template: TemplateName) {
  return TEMPLATES[template].category;
}
