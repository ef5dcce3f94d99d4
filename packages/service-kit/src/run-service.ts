import type { FastifyInstance } from 'fastify';

export interface RunOptions {
  port: number;
  /** Every interface by default: in a pod, the kubelet and the gateway reach the pod IP. */
  host?: string;
  /**
   * How long in-flight requests get to finish after a signal before the process exits anyway; below
   * Kubernetes' default grace period (30 s) so the exit is ours, logged, rather than a SIGKILL.
   */
  shutdownTimeoutMs?: number;
}

export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Listens, then on SIGINT or SIGTERM stops accepting connections, lets in-flight requests finish and
 * exits: 0 after a clean close, 1 when closing failed or outlasted the timeout. A second signal
 * exits at once. Returns the address listened on.
 */
export async function runService(app: FastifyInstance, options: RunOptions): Promise<string> {
  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const address = await app.listen({ port: options.port, host: options.host ?? DEFAULT_HOST });

  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal while closing, exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal, timeoutMs }, 'closing: refusing new connections, finishing in-flight requests');
    const timer = setTimeout(() => {
      app.log.error({ timeoutMs }, 'close did not finish in time, exiting');
      process.exit(1);
    }, timeoutMs);
    app.close().then(
      () => {
        clearTimeout(timer);
        app.log.info('closed, exiting');
        // Explicit: a handle some plugin forgot to close must not keep a terminated pod alive.
        process.exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        app.log.error({ err: error }, 'close failed, exiting');
        process.exit(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  return address;
}
