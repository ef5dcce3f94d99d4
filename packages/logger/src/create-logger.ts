import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { REDACTED_PATHS } from './redaction.ts';

export type { Logger } from 'pino';
export type LogLevel = Level | 'silent';

export const DEFAULT_LEVEL: LogLevel = 'info';

export interface LoggerOptions {
  /** Written as `service` on every line, so a shared log store can tell services apart. */
  service: string;
  level?: LogLevel;
  /** Where lines go; stdout by default (the container runtime collects it). */
  destination?: DestinationStream;
}

/** The root logger of a program: JSON lines with `service`, credentials redacted. */
export function createLogger(options: LoggerOptions): Logger {
  if (typeof options.service !== 'string' || options.service === '') {
    throw new TypeError('createLogger: service must be a non-empty string');
  }
  return pino(
    {
      level: options.level ?? DEFAULT_LEVEL,
      // pid and hostname are the pod's business; Kubernetes log collection already attaches them.
      base: { service: options.service },
      redact: { paths: [...REDACTED_PATHS] },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

export interface RequestContext {
  requestId?: string;
  /** The tenant the work is for; absent before it is resolved. */
  tenant?: string;
}

/** A child logger whose lines carry the request id and tenant, for work outside a request's own logger. */
export function childFor(logger: Logger, context: RequestContext): Logger {
  const bindings: RequestContext = {};
  if (context.requestId !== undefined) bindings.requestId = context.requestId;
  if (context.tenant !== undefined) bindings.tenant = context.tenant;
  return logger.child(bindings);
}
