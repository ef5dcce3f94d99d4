import { defineConfig } from 'drizzle-kit';

/**
 * drizzle-kit configuration of the `notifications` migration set. Paths are relative to this
 * directory, so run drizzle-kit from here:
 *
 *   cd services/notifications && node_modules/.bin/drizzle-kit generate --config drizzle.config.ts --name <change>
 *
 * The operator applies the generated folder to every tenant database (folder convention).
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './migrations/notifications',
});
