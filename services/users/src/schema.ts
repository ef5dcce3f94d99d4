import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The users service's tables in every tenant database (the `users` migration set, generated from
 * this file with drizzle.config.ts). A change ships only as a newly generated migration, never by
 * editing an applied one.
 */

/** A preference value; null is not stored (in a PATCH it deletes the key). */
export type PreferenceValue = string | number | boolean;
export type Preferences = Record<string, PreferenceValue>;

/**
 * Millisecond precision on purpose: the list's cursor carries `created_at` as a JavaScript Date, which
 * has milliseconds. With PostgreSQL's default microseconds, a cursor would round a row's timestamp and
 * the next page could repeat or skip rows created within the same millisecond.
 */
const timestampMs = (name: string) =>
  timestamp(name, { withTimezone: true, precision: 3, mode: 'date' }).notNull().defaultNow();

/**
 * One profile per user of the tenant, keyed by auth's user id. Created from auth's `user.signed_up`
 * event, or from the caller's token when the caller asks for it before the event arrived; `role`
 * follows `user.role_changed` (the token's role stays what access checks use).
 */
export const profiles = pgTable(
  'profiles',
  {
    userId: uuid('user_id').primaryKey(),
    email: text('email').notNull(),
    displayName: text('display_name'),
    avatarUrl: text('avatar_url'),
    locale: text('locale'),
    timezone: text('timezone'),
    role: text('role').notNull().default('member'),
    preferences: jsonb('preferences').$type<Preferences>().notNull().default({}),
    createdAt: timestampMs('created_at'),
    updatedAt: timestampMs('updated_at'),
  },
  (t) => [
    // The admin list pages in (created_at, user_id) order: one index range scan per page.
    index('profiles_created_at_user_id_idx').on(t.createdAt, t.userId),
    check('profiles_role_check', sql`${t.role} in ('owner', 'admin', 'member')`),
  ],
);

export type ProfileRow = typeof profiles.$inferSelect;
