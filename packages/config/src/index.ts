export { ConfigError } from './config-error.ts';
export {
  type CommaList,
  commaList,
  DEFAULT_LOG_LEVEL,
  LOG_LEVELS,
  type LogLevel,
  logLevel,
  port,
  type UrlOptions,
  url,
} from './fragments.ts';
export { type ConfigDefinition, defineConfig, type Env, loadConfig } from './load-config.ts';
