/**
 * What the relay and the consumer log through: a pino logger (@tenantry/logger) fits as is. Optional
 * everywhere; without one, failures still surface through retries, the outbox columns and
 * processed_events, just not in the log.
 */
export interface EventsLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** The error's message, followed by its cause's when that adds something (kafkajs wraps the broker's reason). */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? errorMessage(error.cause) : '';
  return cause === '' || error.message.includes(cause) ? error.message : `${error.message}: ${cause}`;
}
