import type { Role } from '@tenantry/identity';
import { eq, sql } from 'drizzle-orm';
import { publish } from './auth-events.ts';
import type { Db, Tx } from './db.ts';
import { users } from './schema.ts';

/**
 * The queries on `auth_users`. Each runs on one tenant's database (opened with that tenant's
 * credentials), so none filters by tenant.
 */

/** An account as the routes see it; the password hash never leaves the stores' queries. */
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

/** Emails compare case-insensitively; stored and looked up in this form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The columns of an AccountRow; `createdAt` as the ISO text JSON gives it. */
export const accountColumns = {
  id: users.id,
  email: users.email,
  role: sql<Role>`${users.role}`,
  emailVerified: sql<boolean>`${users.emailVerifiedAt} is not null`,
  createdAt: sql<string>`to_json(${users.createdAt})#>>'{}'`,
  passwordHash: users.passwordHash,
};

export function publicAccount(row: AccountRow): Account {
  const { passwordHash: _hash, ...account } = row;
  return account;
}

export async function findAccountByEmail(db: Db, email: string): Promise<AccountRow | undefined> {
  const [row] = await db.select(accountColumns).from(users).where(eq(users.email, email));
  return row;
}

export async function findAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  const [row] = await db.select(accountColumns).from(users).where(eq(users.id, id));
  return row;
}

/** The account, locked for the rest of the transaction. */
export async function lockAccount(tx: Db, id: string): Promise<AccountRow | undefined> {
  const [row] = await tx.select(accountColumns).from(users).where(eq(users.id, id)).for('update');
  return row;
}

/**
 * Creates the account unless the email is taken; returns undefined when it was (the caller answers
 * the same either way). Every account starts as a member; the only way to owner is the designated
 * admin's invitation (admin-invitation.ts) or an owner's grant.
 */
export async function createAccount(
  tx: Tx,
  tenant: string,
  email: string,
  passwordHash: string | null,
): Promise<AccountRow | undefined> {
  const [row] = await tx
    .insert(users)
    .values({ email, passwordHash })
    .onConflictDoNothing({ target: users.email })
    .returning(accountColumns);
  if (row) await publish(tx, tenant, 'user.signed_up', { userId: row.id, email: row.email, role: row.role });
  return row;
}

export async function markEmailVerified(tx: Db, userId: string): Promise<void> {
  await tx
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: sql`now()` })
    .where(eq(users.id, userId));
}

export async function setPassword(tx: Db, userId: string, passwordHash: string): Promise<void> {
  await tx.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, userId));
}

/** The accepted invitation: the password, the proven email and the owner role at once. */
export async function makeInvitedOwner(tx: Db, userId: string, passwordHash: string): Promise<void> {
  await tx
    .update(users)
    .set({
      passwordHash,
      role: 'owner',
      emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(eq(users.id, userId));
}

export async function recordSignin(tx: Db, userId: string): Promise<void> {
  await tx.update(users).set({ lastSigninAt: sql`now()` }).where(eq(users.id, userId));
}

/** Serialises role changes for the rest of the transaction. */
export async function lockRoleChanges(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tenantry.auth.roles'))`);
}

/** The user's role; with `forUpdate`, the row stays locked for the rest of the transaction. */
export async function roleOf(db: Db, userId: string, forUpdate = false): Promise<Role | undefined> {
  const query = db
    .select({ role: sql<Role>`${users.role}` })
    .from(users)
    .where(eq(users.id, userId));
  const [row] = await (forUpdate ? query.for('update') : query);
  return row?.role;
}

export async function countOwners(db: Db): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(users)
    .where(eq(users.role, 'owner'));
  return row?.count ?? 0;
}

export async function setRole(tx: Db, userId: string, role: Role): Promise<void> {
  await tx.update(users).set({ role, updatedAt: sql`now()` }).where(eq(users.id, userId));
}
