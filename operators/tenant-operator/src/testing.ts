/**
 * `@tenantry/tenant-operator/testing`: what tests and benchmarks elsewhere in the workspace use of the
 * operator. The harness runs the real operator; the steps below provision a tenant's pieces without
 * it, for tests of packages the operator's output feeds, and as the benchmarks' raw baseline.
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
export * from './test-support.ts';
