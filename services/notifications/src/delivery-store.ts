import type { Sql, TransactionSql } from 'postgres';
import type { DeliveryState } from './schema.ts';
import type { TemplateName } from './templates.ts';

/**
 * The delivery worker's and the consumer's queries on `deliveries`, `preferences` and `known_users`.
 * Each runs on one tenant's database (its own credentials), so none filters by tenant. They are plain
 * SQL: the consumer's run in the postgres.js transaction that records the event as processed (which
 * drizzle cannot wrap), and the claim needs `for update skip locked` inside an update.
 */

export interface QueuedMail {
  eventId: string;
  eventType: string;
  recipient: string;
  template: TemplateName;
  templateVersion: number;
  category: string;
  data: Record<string, unknown>;
  messageId: string;
}

/**
 * The delivery of one event to one recipient, once (a redelivered event adds nothing), unless the
 * recipient turned its category off: checked in the same statement, one round trip per mail. Returns
 * whether the preference suppressed it.
 */
export async function queueDelivery(tx: TransactionSql, mail: QueuedMail, locked: boolean): Promise<boolean> {
  // JSON bound as text and cast, as appendToOutbox does: tenant-db's pools serialize JSON for drizzle.
  const [row] = await tx<{ suppressed: boolean }[]>`
    with opted_out as (
      select 1 from preferences
      where ${!locked} and email = ${mail.recipient} and category = ${mail.category} and enabled = false
    ), queued as (
      insert into deliveries (event_id, event_type, recipient, template, template_version, category, data, message_id)
      select ${mail.eventId}, ${mail.eventType}, ${mail.recipient}, ${mail.template}, ${mail.templateVersion},
        ${mail.category}, ${JSON.stringify(mail.data)}::text::jsonb, ${mail.messageId}
      where not exists (select 1 from opted_out)
      on conflict (event_id, recipient) do nothing
    )
    select exists (select 1 from opted_out) as suppressed
  `;
  return row?.suppressed === true;
}

export async function recordKnownUser(
  tx: TransactionSql,
  user: { userId: string; email: string; role: string },
): Promise<void> {
  await tx`
    insert into known_users (user_id, email, role) values (${user.userId}, ${user.email}, ${user.role})
    on conflict (user_id) do update set email = excluded.email, role = excluded.role
  `;
}

export async function knownUserAddress(tx: TransactionSql, userId: string): Promise<string | undefined> {
  const [row] = await tx<{ email: string }[]>`select email from known_users where user_id = ${userId}`;
  return row?.email;
}

/** The addresses of the tenant's owners and admins known from signups. */
export async function adminAddresses(tx: TransactionSql): Promise<string[]> {
  const rows = await tx<{ email: string }[]>`
    select email from known_users where role in ('owner', 'admin') order by created_at
  `;
  return rows.map((row) => row.email);
}

/** A row of the worker's claim. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  recipient: string;
  template: string;
  templateVersion: number;
  category: string;
  data: Record<string, unknown>;
  messageId: string;
  attempts: number;
}

/**
 * Marks up to `limit` due deliveries `sending` (one attempt more) and returns them. SKIP LOCKED lets
 * replicas claim side by side without waiting on each other or taking the same row.
 */
export async function claimDue(sql: Sql, limit: number): Promise<ClaimedDelivery[]> {
  const rows = await sql<(Omit<ClaimedDelivery, 'data'> & { data: string })[]>`
    update deliveries d
    set state = 'sending', attempts = d.attempts + 1, updated_at = now()
    where d.id in (
      select id from deliveries
      where state in ('queued', 'retrying') and next_attempt_at <= now()
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning d.id, d.event_id as "eventId", d.recipient, d.template, d.template_version as "templateVersion",
      d.category, d.data::text as data, d.message_id as "messageId", d.attempts
  `;
  // Read as text and parsed here: tenant-db's pools leave JSON unparsed for drizzle.
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
}

/**
 * Deliveries left `sending` for longer than `leaseMs`: the replica that claimed them died between
 * claiming and recording. They are sent again (with the same Message-ID): whether the first send
 * reached the relay is unknown, and a duplicate is preferred to a lost mail.
 */
export async function reclaimAbandoned(sql: Sql, leaseMs: number): Promise<number> {
  const rows = await sql`
    update deliveries
    set state = 'retrying', next_attempt_at = now(), updated_at = now(),
      last_error = 'abandoned while sending (a replica stopped); sent again with the same Message-ID'
    where state = 'sending' and updated_at < now() - make_interval(secs => ${leaseMs / 1000})
    returning id
  `;
  return rows.length;
}

/**
 * Records a batch's accepted mails in one statement: one round trip instead of one per mail, so the
 * worker holds the tenant's few pooled connections briefly and the consumer is not kept waiting.
 */
export async function recordSent(sql: Sql, sent: readonly { id: string; response: string }[]): Promise<void> {
  if (sent.length === 0) return;
  await sql`
    update deliveries d
    set state = 'sent', sent_at = now(), smtp_response = s.response, last_error = null, updated_at = now()
    from unnest(${sql.array(sent.map((m) => m.id))}::uuid[], ${sql.array(sent.map((m) => m.response))}::text[])
      as s(id, response)
    where d.id = s.id and d.state = 'sending'
  `;
}

export async function recordFailure(
  sql: Sql,
  id: string,
  outcome: { state: Extract<DeliveryState, 'retrying' | 'dead'>; reason: string; retryInMs?: number },
): Promise<void> {
  await sql`
    update deliveries
    set state = ${outcome.state}, last_error = ${outcome.reason}, updated_at = now(),
      next_attempt_at = now() + make_interval(secs => ${(outcome.retryInMs ?? 0) / 1000})
    where id = ${id} and state = 'sending'
  `;
}
