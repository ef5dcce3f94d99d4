/**
 * `@tenantry/tenant-operator/testing`: the harness that runs the real operator in a test (vitest), and
 * the provisioning steps (see provisioning.ts).
 */
export * from './provisioning.ts';
export * from './test-support.ts';
