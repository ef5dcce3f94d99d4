/**
 * `@tenantry/tenant-operator/provisioning`: the operator's steps, to provision a tenant's pieces without
 * the operator: for tests of packages the operator's output feeds, and as the benchmarks' raw baseline.
 * No test framework here, so programs (benchmarks) can import it.
 */
export { applyManifests, loadManifests } from './apply-manifests.ts';
export {
  type DatabaseSettings,
  dropTenantDatabase,
  ensureTenantDatabase,
  generatePassword,
} from './tenant/database.ts';
export { buildIngress } from './tenant/ingress.ts';
export { createKafkaAdmin } from './tenant/kafka-admin.ts';
export { applyMigrations, type MigrationSet, migrationSets } from './tenant/migrations.ts';
export { ensureCredentials } from './tenant/secrets.ts';
export { generateSigningKey } from './tenant/signing-key.ts';
export { deleteTopics, reconcileTopics, topicPolicy } from './tenant/topics.ts';
