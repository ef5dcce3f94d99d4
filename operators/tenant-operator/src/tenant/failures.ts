import { kubeMessage } from '../kube-errors.ts';

/**
 * Failure classification: which dependency is at fault (the condition reason) and whether retrying
 * can help (transient: the work queue retries with backoff; permanent: the condition says why and
 * the tenant waits for a spec change or the next resync).
 */

/** A step failure with the condition reason that explains it (naming the dependency at fault). */
export class StepFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** Someone else wrote the Tenant meanwhile: not an error, just reconcile again from a fresh read. */
export class Conflict extends Error {}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Codes and names along an error's `cause` chain: modules below wrap errors with context. */
function errorChain(error: unknown): { code?: string; name?: string }[] {
  const chain: { code?: string; name?: string }[] = [];
  for (let current = error; current && chain.length < 10; current = (current as { cause?: unknown }).cause) {
    chain.push(current as { code?: string; name?: string });
  }
  return chain;
}

const POSTGRES_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now (starting up)
]);

export function postgresFailure(doing: string, error: unknown): StepFailure {
  const unavailable = errorChain(error).some((e) => e.code !== undefined && POSTGRES_UNAVAILABLE.has(e.code));
  return new StepFailure(
    unavailable ? 'PostgresUnavailable' : 'PostgresError',
    `while ${doing}: ${describe(error)}`,
    true,
  );
}

export function kafkaFailure(doing: string, error: unknown): StepFailure {
  const unavailable = errorChain(error).some((e) =>
    /Connection|NumberOfRetriesExceeded|RequestTimeout|BrokerNotFound/.test(e.name ?? ''),
  );
  return new StepFailure(
    unavailable ? 'KafkaUnavailable' : 'KafkaError',
    `while ${doing}: ${describe(error)}`,
    true,
  );
}

/** A write to the API server failed: `reason` names what was written (SecretError, IngressError). */
export function kubeFailure(reason: string, doing: string, error: unknown): StepFailure {
  return new StepFailure(reason, `while ${doing}: ${kubeMessage(error)}`, true);
}
