import { defineConfig } from 'drizzle-kit';

/**
 * drizzle-kit configuration of the `auth` migration set; run from this directory:
 *
 *   cd services/auth && ../../node_modules/.bin/drizzle-kit generate --config drizzle.config.ts --name <change>
 *
 * The operator applies the generated folder to every tenant database (registered in
 * operators/tenant-operator/src/tenant/migrations.ts).
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './migrations/auth',
});
