import type { Role } from '@tenantry/identity';
import type { ListPosition } from '@tenantry/service-kit';
import { asc, eq, sql } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { PostgresJsDatabase, PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import type { TransactionSql } from 'postgres';
import { mergePreferences, type ProfileChanges } from './profile-changes.ts';
import { type ProfileRow, profiles } from './schema.ts';

/**
 * The queries on `profiles`. Each runs on the database it is given, which is always one tenant's
 * (opened with that tenant's credentials), so none of them filters by tenant: there is nothing else
 * in reach.
 */

/** A tenant database, or a transaction on one. */
type Db = PgDatabase<PostgresJsQueryResultHKT>;

/** What a profile is created from when nothing else is known about the user yet. */
export interface ProfileSeed {
  userId: string;
  email: string;
  role: Role;
  displayName?: string;
}

export async function findProfile(db: Db, userId: string): Promise<ProfileRow | undefined> {
  const [row] = await db.select().from(profiles).where(eq(profiles.userId, userId));
  return row;
}

/**
 * The user's profile, created from `seed` if there is none. Idempotent with the `user.signed_up`
 * consumer: whichever comes first creates it, the other finds it.
 */
export async function ensureProfile(db: Db, seed: ProfileSeed): Promise<ProfileRow> {
  const existing = await findProfile(db, seed.userId);
  if (existing) return existing;
  const [created] = await db
    .insert(profiles)
    .values({ userId: seed.userId, email: seed.email, role: seed.role, displayName: seed.displayName })
    .onConflictDoNothing({ target: profiles.userId })
    .returning();
  if (created) return created;
  // A concurrent request or the consumer created it between the two statements.
  const raced = await findProfile(db, seed.userId);
  if (!raced) throw new Error(`profile ${seed.userId} neither inserted nor found`);
  return raced;
}

/*
 * The consumer's writes take the postgres.js transaction the consumer opened (it records the event as
 * processed in it) and are therefore plain SQL: drizzle cannot wrap a postgres.js transaction (it
 * configures its client's parsers, which a transaction does not expose).
 */

/**
 * The profile from auth's `user.signed_up`. When the user already asked for their profile (created
 * from the token, which has no display name), the display name given at signup fills the empty one;
 * anything the user set stays.
 */
export async function recordSignup(tx: TransactionSql, seed: ProfileSeed): Promise<void> {
  await tx`
    insert into profiles (user_id, email, role, display_name)
    values (${seed.userId}, ${seed.email}, ${seed.role}, ${seed.displayName ?? null})
    on conflict (user_id) do update set display_name = excluded.display_name, updated_at = now()
    where profiles.display_name is null and excluded.display_name is not null
  `;
}

/** Returns whether a profile was there to update. */
export async function recordRoleChange(tx: TransactionSql, userId: string, role: Role): Promise<boolean> {
  const updated = await tx`
    update profiles set role = ${role}, updated_at = now() where user_id = ${userId} returning user_id
  `;
  return updated.length > 0;
}

/**
 * Applies `changes` to the user's profile (created from `seed` first if needed) and returns it. The
 * row is locked while the preferences are merged, so concurrent updates of different keys both land.
 */
export async function updateProfile(
  db: PostgresJsDatabase,
  seed: ProfileSeed,
  changes: ProfileChanges,
): Promise<ProfileRow> {
  return db.transaction(async (tx) => {
    await ensureProfile(tx, seed);
    const [current] = await tx.select().from(profiles).where(eq(profiles.userId, seed.userId)).for('update');
    if (!current) throw new Error(`profile ${seed.userId} vanished inside its update`);
    const { preferences, ...columns } = changes;
    const [updated] = await tx
      .update(profiles)
      .set({
        ...columns,
        ...(preferences ? { preferences: mergePreferences(current.preferences, preferences) } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(profiles.userId, seed.userId))
      .returning();
    if (!updated) throw new Error(`profile ${seed.userId} vanished inside its update`);
    return updated;
  });
}

/** A page of profiles in (created_at, user_id) order, after `after` when given. */
export async function listProfiles(
  db: Db,
  limit: number,
  after: ListPosition | undefined,
): Promise<{ rows: ProfileRow[]; more: boolean }> {
  const rows = await db
    .select()
    .from(profiles)
    .where(
      after
        ? // A row comparison, so the (created_at, user_id) index serves it as one range.
          sql`(${profiles.createdAt}, ${profiles.userId}) > (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`
        : undefined,
    )
    .orderBy(asc(profiles.createdAt), asc(profiles.userId))
    // One more than asked tells whether another page exists without counting.
    .limit(limit + 1);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}
