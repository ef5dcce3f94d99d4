export { localServiceEnv } from './local-env.ts';
export {
  type PlatformServices,
  type PlatformServicesOptions,
  startPlatformServices,
} from './platform-services.ts';
