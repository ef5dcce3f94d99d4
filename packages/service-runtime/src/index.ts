export {
  type ConsumerOverrides,
  runTenantServiceProgram,
  startTenantService,
  type TenantServiceProgram,
} from './run-program.ts';
export { serviceConfig, type TenantServiceSettings, tenantServiceEnv } from './settings.ts';
export { createTenantEventConsumer } from './tenant-event-consumer.ts';
export {
  defaultKubeConfig,
  startTenantRuntime,
  type TenantRuntime,
  type TenantRuntimeOptions,
} from './tenant-runtime.ts';
