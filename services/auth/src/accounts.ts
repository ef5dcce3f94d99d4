import type { Role } from '@tenantry/identity';
import type { Sql, TransactionSql } from 'postgres';
import { publish } from './auth-events.ts';
import { hashSecretToken, newSecretToken } from './secret-tokens.ts';

/** An account as the routes see it; the password hash never leaves this module's queries. */
export interface Account {
  id: string;
  email: string;
  role: Role;
  emailVerified: boolean;
  createdAt: string;
}

export interface AccountRow extends Account {
  /** Null until the designated admin accepts the invitation: nobody can sign in to it before. */
  passwordHash: string | null;
}

export type OneTimePurpose = 'verify_email' | 'reset_password' | 'accept_invitation';

/** A second email of the same purpose within this window is not sent (mail bombing, enumeration by timing). */
export const RESEND_COOLDOWN_SECONDS = 60;

/** Emails compare case-insensitively; stored and looked up in this form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const ACCOUNT_COLUMNS = (sql: Sql | TransactionSql) => sql`
  id, email, role, email_verified_at is not null as "emailVerified",
  to_json(created_at)#>>'{}' as "createdAt", password_hash as "passwordHash"
`;

export function publicAccount(row: AccountRow): Account {
  const { passwordHash: _hash, ...account } = row;
  return account;
}

export async function findAccountByEmail(
  sql: Sql | TransactionSql,
  email: string,
): Promise<AccountRow | undefined> {
  const [row] = await sql<
    AccountRow[]
  >`select ${ACCOUNT_COLUMNS(sql)} from auth_users where email = ${email}`;
  return row;
}

export async function findAccount(sql: Sql | TransactionSql, id: string): Promise<AccountRow | undefined> {
  const [row] = await sql<AccountRow[]>`select ${ACCOUNT_COLUMNS(sql)} from auth_users where id = ${id}`;
  return row;
}

/**
 * Creates the account unless the email is taken; returns undefined when it was (the caller answers
 * the same either way). Every account starts as a member; the only way to owner is the designated
 * admin's invitation (admin-invitation.ts) or an owner's grant.
 */
export async function createAccount(
  tx: TransactionSql,
  tenant: string,
  email: string,
  passwordHash: string | null,
): Promise<AccountRow | undefined> {
  const [row] = await tx<AccountRow[]>`
    insert into auth_users (email, password_hash) values (${email}, ${passwordHash})
    on conflict (email) do nothing
    returning ${ACCOUNT_COLUMNS(tx)}
  `;
  if (row) await publish(tx, tenant, 'user.signed_up', { userId: row.id, email: row.email, role: row.role });
  return row;
}

/**
 * A new single-use token for `purpose`, replacing (expiring) the account's earlier unused ones; none
 * when one was issued within the cooldown. The raw token is returned for the event and never stored.
 */
export async function issueOneTimeToken(
  tx: TransactionSql,
  userId: string,
  purpose: OneTimePurpose,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: string } | undefined> {
  const [recent] = await tx`
    select 1 from auth_one_time_tokens
    where user_id = ${userId} and purpose = ${purpose}
      and created_at > now() - make_interval(secs => ${RESEND_COOLDOWN_SECONDS})
    limit 1
  `;
  if (recent) return undefined;
  await tx`
    update auth_one_time_tokens set expires_at = least(expires_at, now())
    where user_id = ${userId} and purpose = ${purpose} and used_at is null
  `;
  const { token, hash } = newSecretToken();
  const [row] = await tx<{ expiresAt: string }[]>`
    insert into auth_one_time_tokens (user_id, purpose, token_hash, expires_at)
    values (${userId}, ${purpose}, ${hash}, now() + make_interval(secs => ${ttlSeconds}))
    returning to_json(expires_at)#>>'{}' as "expiresAt"
  `;
  return { token, expiresAt: row?.expiresAt ?? '' };
}

/** Marks the token used and returns its account, or undefined when it is unknown, used or expired. */
export async function consumeOneTimeToken(
  tx: TransactionSql,
  token: string,
  purpose: OneTimePurpose,
): Promise<AccountRow | undefined> {
  const [used] = await tx<{ userId: string }[]>`
    update auth_one_time_tokens set used_at = now()
    where token_hash = ${hashSecretToken(token)} and purpose = ${purpose}
      and used_at is null and expires_at > now()
    returning user_id as "userId"
  `;
  if (!used) return undefined;
  const [row] = await tx<AccountRow[]>`
    select ${ACCOUNT_COLUMNS(tx)} from auth_users where id = ${used.userId} for update
  `;
  return row;
}

/** The account a usable (unused, unexpired) token of `purpose` belongs to, without using the token. */
export async function peekOneTimeToken(
  sql: Sql | TransactionSql,
  token: string,
  purpose: OneTimePurpose,
): Promise<AccountRow | undefined> {
  const [row] = await sql<AccountRow[]>`
    select ${ACCOUNT_COLUMNS(sql)} from auth_users where id = (
      select user_id from auth_one_time_tokens
      where token_hash = ${hashSecretToken(token)} and purpose = ${purpose}
        and used_at is null and expires_at > now()
    )
  `;
  return row;
}

export async function markEmailVerified(tx: TransactionSql, userId: string): Promise<void> {
  await tx`
    update auth_users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
    where id = ${userId}
  `;
}
