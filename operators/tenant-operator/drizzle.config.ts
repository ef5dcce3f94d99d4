import { defineConfig } from 'drizzle-kit';

/**
 * drizzle-kit configuration of the platform migration set. Paths are relative to this directory, so
 * run drizzle-kit from here:
 *
 *   cd operators/tenant-operator && ../../node_modules/.bin/drizzle-kit generate --config drizzle.config.ts --name <change>
 *
 * The generated folder is applied to every tenant database by `applyMigrations` (src/tenant/migrations.ts).
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/tenant/platform-schema.ts',
  out: './migrations/platform',
});
