import { ConfigError } from '@tenantry/config';
import { createLogger, type Logger, type LogLevel } from '@tenantry/logger';
import { startTelemetry, type Telemetry } from '@tenantry/telemetry';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from './process-defaults.ts';

/** What a started program hands back: how to close it gracefully on a signal. */
export interface RunningProgram {
  close(): Promise<void>;
}

/**
 * A long-running program (a service, the gateway, the operator) as `runProgram` runs it. The program
 * supplies what differs; the runner owns what every process must do the same way.
 */
export interface Program<C> {
  /** `service` on every log line and `service.name` of every span. */
  name: string;
  /** The program's config module (the only reader of the environment); throws a ConfigError. */
  loadConfig(): C;
  logLevel(config: C): LogLevel;
  /** OTLP/HTTP base URL; without one no SDK is started (its context manager would cost for nothing). */
  otlpEndpoint(config: C): string | undefined;
  start(parts: { config: C; logger: Logger }): Promise<RunningProgram>;
}

export interface RunProgramOptions {
  /** Below Kubernetes' default grace period (30 s), so the exit is ours, logged, not a SIGKILL. */
  shutdownTimeoutMs?: number;
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A program as a process: configuration (exit 2 naming every invalid variable: a deployment mistake
 * to fix, not a crash to retry), telemetry first so all that starts afterwards is traced, then the
 * program. A failure to start is logged once and exits 1. SIGINT or SIGTERM closes it gracefully and
 * exits 0 (1 when closing fails or outlasts the timeout); a second signal exits at once.
 */
export async function runProgram<C>(program: Program<C>, options: RunProgramOptions = {}): Promise<void> {
  const logger = createLogger({ service: program.name });
  let config: C;
  try {
    config = program.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.fatal({ issues: error.issues }, error.message);
    process.exit(2);
  }
  logger.level = program.logLevel(config);
  const endpoint = program.otlpEndpoint(config);
  const telemetry: Telemetry | undefined = endpoint
    ? startTelemetry({ serviceName: program.name, otlpEndpoint: endpoint })
    : undefined;

  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  let running: RunningProgram | undefined;
  let signalled: NodeJS.Signals | undefined;
  let closing = false;
  const close = (program: RunningProgram, signal: NodeJS.Signals) => {
    closing = true;
    logger.info({ signal, timeoutMs }, 'closing');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'close did not finish in time, exiting');
      process.exit(1);
    }, timeoutMs);
    program
      .close()
      // Spans of the shutdown itself are flushed too.
      .then(() => telemetry?.shutdown())
      .then(
        () => {
          clearTimeout(timer);
          logger.info('closed, exiting');
          // Explicit: a handle something forgot to close must not keep a terminated pod alive.
          process.exit(0);
        },
        (error: unknown) => {
          clearTimeout(timer);
          logger.error({ err: error }, `close failed, exiting: ${describe(error)}`);
          process.exit(1);
        },
      );
  };
  // One listener for the whole life of the process, installed before the program starts: removing
  // and adding listeners re-arms the OS handler, and a signal arriving in between would be lost. A
  // signal while the program starts closes it as soon as it has started.
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn({ signal }, 'second signal while closing, exiting now');
      process.exit(1);
    }
    if (running) close(running, signal);
    else signalled ??= signal;
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  try {
    running = await program.start({ config, logger });
  } catch (error) {
    logger.fatal({ err: error }, `${program.name} could not start: ${describe(error)}`);
    await telemetry?.shutdown().catch(() => {});
    process.exit(1);
  }
  if (signalled) close(running, signalled);
}
