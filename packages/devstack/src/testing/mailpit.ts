import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';

/**
 * Reading what services sent, from the devstack's Mailpit. Every test file running in parallel shares
 * it, so a test sends to addresses of its own (`uniqueMailbox()`) and looks messages up by recipient;
 * nothing here deletes mail (Mailpit's delete without ids empties the whole store).
 */
export interface MailAddress {
  name: string;
  address: string;
}

export interface MailSummary {
  /** Mailpit's id of the stored message, for `message(id)`. */
  id: string;
  /** The Message-ID header, without its angle brackets. */
  messageId: string;
  from: MailAddress | undefined;
  to: MailAddress[];
  cc: MailAddress[];
  /** Envelope recipients that were in no header. */
  bcc: MailAddress[];
  subject: string;
  /** When Mailpit received it. */
  received: Date;
}

export interface Mail extends Omit<MailSummary, 'received'> {
  replyTo: MailAddress[];
  /** The Date header. */
  date: Date;
  text: string;
  html: string;
  /** Every header as received, keyed by lower-case name (a header may occur more than once). */
  headers: Record<string, string[]>;
}

export interface MailpitClient {
  /** Messages addressed to `address` (To, Cc or envelope), oldest first. */
  messagesTo(address: string): Promise<MailSummary[]>;
  message(id: string): Promise<Mail>;
  /** Waits until at least `count` messages were addressed to `address`; resolves with them, oldest first. */
  waitForMessages(
    address: string,
    count: number,
    options?: { timeout: number; interval: number },
  ): Promise<MailSummary[]>;
}

/** A recipient address no other test uses: `<prefix>-<8 hex>@devstack.test`. */
export function uniqueMailbox(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@devstack.test`;
}

interface RawAddress {
  Name: string;
  Address: string;
}

interface RawSummary {
  ID: string;
  MessageID: string;
  From: RawAddress | null;
  To: RawAddress[] | null;
  Cc: RawAddress[] | null;
  Bcc: RawAddress[] | null;
  Subject: string;
  Created: string;
}

interface RawMessage extends Omit<RawSummary, 'Created'> {
  ReplyTo: RawAddress[] | null;
  Date: string;
  Text: string;
  HTML: string;
}

const address = (raw: RawAddress): MailAddress => ({ name: raw.Name, address: raw.Address });
const addresses = (raw: RawAddress[] | null): MailAddress[] => (raw ?? []).map(address);

function common(raw: Omit<RawSummary, 'Created'>): Omit<MailSummary, 'received'> {
  return {
    id: raw.ID,
    messageId: raw.MessageID,
    from: raw.From ? address(raw.From) : undefined,
    to: addresses(raw.To),
    cc: addresses(raw.Cc),
    bcc: addresses(raw.Bcc),
    subject: raw.Subject,
  };
}

/** A client of Mailpit's HTTP API; by default the test devstack's (pass `apiUrl` for another stack's). */
export function mailpitClient(apiUrl: string = inject('devstack').mailpit.apiUrl): MailpitClient {
  async function get<T>(path: string): Promise<T> {
    const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new Error(`Mailpit GET ${apiUrl}${path} answered ${response.status}: ${text.slice(0, 300)}`);
    }
    return (await response.json()) as T;
  }

  async function messagesTo(recipient: string): Promise<MailSummary[]> {
    // `addressed:` matches a substring of any address field (From too), so the exact recipient is
    // checked here: a test must not see mail for `xbob@...` when it asked for `bob@...`.
    const query = new URLSearchParams({ query: `addressed:${recipient}`, limit: '1000' });
    const { messages } = await get<{ messages: RawSummary[] }>(`/search?${query}`);
    const wanted = recipient.toLowerCase();
    return messages
      .map((raw) => ({ ...common(raw), received: new Date(raw.Created) }))
      .filter((m) => [...m.to, ...m.cc, ...m.bcc].some((a) => a.address.toLowerCase() === wanted))
      .sort((a, b) => a.received.getTime() - b.received.getTime());
  }

  return {
    messagesTo,

    async message(id) {
      const path = `/message/${encodeURIComponent(id)}`;
      const [raw, rawHeaders] = await Promise.all([
        get<RawMessage>(path),
        get<Record<string, string[]>>(`${path}/headers`),
      ]);
      const headers: Record<string, string[]> = {};
      for (const [name, values] of Object.entries(rawHeaders)) {
        headers[name.toLowerCase()] = [...(headers[name.toLowerCase()] ?? []), ...values];
      }
      return {
        ...common(raw),
        replyTo: addresses(raw.ReplyTo),
        date: new Date(raw.Date),
        text: raw.Text,
        html: raw.HTML,
        headers,
      };
    },

    async waitForMessages(recipient, count, options = { timeout: 30_000, interval: 100 }) {
      const deadline = Date.now() + options.timeout;
      for (;;) {
        const found = await messagesTo(recipient);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          const seen = found.map((m) => JSON.stringify(m.subject)).join(', ') || 'none';
          throw new Error(
            `timed out after ${options.timeout} ms waiting for ${count} message(s) to ${recipient}; received ${found.length}: ${seen}`,
          );
        }
        await sleep(options.interval);
      }
    },
  };
}
