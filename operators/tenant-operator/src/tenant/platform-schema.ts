import { bigserial, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The platform's own tables in every tenant database: the source of the `platform` migration set
 * (drizzle-kit generates `migrations/platform` from this file; see drizzle.config.ts). A change here
 * ships only as a newly generated migration, never by editing an applied one.
 */

/** Tenant-wide settings the platform keeps beside the tenant's data, one JSON value per key. */
export const tenantSettings = pgTable('tenant_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Who did what inside the tenant, for the tenant's administrators. */
export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).defaultNow(),
  actor: text('actor'),
  action: text('action').notNull(),
  details: jsonb('details'),
});
