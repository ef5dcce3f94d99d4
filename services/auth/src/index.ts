export { AUTH_ERROR_CODES } from './auth-context.ts';
export {
  type AuthServiceInstance,
  type AuthServiceOptions,
  buildAuthService,
  SERVICE_NAME,
} from './auth-service.ts';
export { type AuthConfig, loadAuthConfig } from './config.ts';
export { program } from './program.ts';
