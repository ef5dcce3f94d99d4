import { defineConfig } from 'drizzle-kit';

/**
 * drizzle-kit configuration of the `billing` migration set. Paths are relative to this directory, so
 * run drizzle-kit from here:
 *
 *   cd services/billing && node_modules/.bin/drizzle-kit generate --config drizzle.config.ts --name <change>
 *
 * The operator applies the generated folder to every tenant database.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './migrations/billing',
});
