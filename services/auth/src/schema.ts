import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The auth service's tables in every tenant database (the `auth` migration set, generated from this
 * file with drizzle.config.ts). Secrets are stored only as hashes: passwords with argon2id, refresh,
 * verification and reset tokens with SHA-256 (they are 256-bit random, so a fast hash suffices).
 */

export const users = pgTable(
  'auth_users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Trimmed and lowercased on the way in; unique per tenant (the database is the tenant's). */
    email: text('email').notNull().unique(),
    /**
     * Null for the tenant's designated admin until the invitation is accepted: that account's password
     * is chosen only after its mailbox is proven, so nobody can sign in to it before.
     */
    passwordHash: text('password_hash'),
    role: text('role').notNull().default('member'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
    lastSigninAt: timestamp('last_signin_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('auth_users_role_check', sql`${t.role} in ('owner', 'admin', 'member')`)],
);

/**
 * One row per refresh token ever issued. A session is a family: signin starts one, each refresh
 * rotates to a new token of the same family. Presenting a rotated token again means it was copied:
 * the whole family is revoked.
 */
export const refreshTokens = pgTable(
  'auth_refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    familyId: uuid('family_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /**
     * When the whole session (family) ends whatever its refreshes: set at sign-in, copied on rotation,
     * so a refresh token never slides past it. Null on rows from before the cap (created_at + cap then).
     */
    sessionExpiresAt: timestamp('session_expires_at', { withTimezone: true }),
  },
  (t) => [
    index('auth_refresh_tokens_family_idx').on(t.familyId),
    index('auth_refresh_tokens_user_idx').on(t.userId),
  ],
);

/**
 * Email verification, password reset and admin invitation tokens: single use, expiring. An accepted
 * invitation (`accept_invitation`, used) is also the record that the designated admin was promoted:
 * it is never issued again for that account, so a later demotion sticks.
 */
export const oneTimeTokens = pgTable(
  'auth_one_time_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [
    index('auth_one_time_tokens_user_idx').on(t.userId, t.purpose),
    check(
      'auth_one_time_tokens_purpose_check',
      sql`${t.purpose} in ('verify_email', 'reset_password', 'accept_invitation')`,
    ),
  ],
);

/**
 * Sign-in attempts per key, `account:<email>` or `address:<ip>`: counted before the password is
 * checked (a success takes its attempt back), so concurrent guesses cannot pass the threshold. Kept
 * for addresses that match no account too, so a lockout answer says nothing about whether one exists.
 */
export const signinFailures = pgTable('auth_signin_failures', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull().defaultNow(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});
