export {
  type PlatformServices,
  type PlatformServicesOptions,
  startPlatformServices,
} from './platform-services.ts';
