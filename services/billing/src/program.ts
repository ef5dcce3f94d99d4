import type { TenantServiceProgram } from '@tenantry/service-runtime';
import { buildBillingService, SERVICE_NAME } from './billing-service.ts';
import { type BillingConfig, loadBillingConfig } from './config.ts';

/** The billing service: it publishes through the outbox (relay on) and verifies tokens only. */
export const program: TenantServiceProgram<BillingConfig> = {
  service: SERVICE_NAME,
  loadConfig: loadBillingConfig,
  runtime: { relay: true },
  build: async ({ consumers, ...parts }) =>
    (
      await buildBillingService({
        ...parts,
        ...(consumers ? { events: consumers } : {}),
      })
    ).app,
};
