export {
  childFor,
  createLogger,
  DEFAULT_LEVEL,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type RequestContext,
} from './create-logger.ts';
export { lazyChild, type RequestLogger } from './lazy-child.ts';
