export {
  type ConsumerOverrides,
  runTenantServiceProgram,
  startTenantService,
  type TenantServiceProgram,
} from './run-program.ts';
export { serviceConfig, type TenantServiceSettings, tenantServiceEnv } from './settings.ts';
export {
  defaultKubeConfig,
  startTenantRuntime,
  type TenantRuntime,
  type TenantRuntimeOptions,
} from './tenant-runtime.ts';
