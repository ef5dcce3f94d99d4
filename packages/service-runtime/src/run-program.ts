import { ConfigError } from '@tenantry/config';
import { createLogger, type Logger } from '@tenantry/logger';
import { runService, type ServiceInstance } from '@tenantry/service-kit';
import { startTelemetry } from '@tenantry/telemetry';
import type { TenantServiceSettings } from './settings.ts';
import { startTenantRuntime, type TenantRuntime, type TenantRuntimeOptions } from './tenant-runtime.ts';

export interface TenantServiceProgram<C extends TenantServiceSettings> {
  service: string;
  /** The program's config module: the only reader of the environment. */
  loadConfig(): C;
  runtime?: Pick<TenantRuntimeOptions, 'relay' | 'signing'>;
  /** The service's app over the started runtime; `onClose` must reach buildService's option of that name. */
  build(parts: {
    runtime: TenantRuntime;
    config: C;
    logger: Logger;
    onClose: () => Promise<void>;
  }): Promise<ServiceInstance>;
}

/**
 * A tenant-facing service as a process (`node --import tsx src/main.ts`): configuration (exit 2 naming
 * every invalid variable: a deployment mistake to fix, not a crash to retry), telemetry first so all
 * that starts afterwards is traced, the runtime, the app, then listening until a signal. A failure to
 * start is logged once and exits 1.
 */
export async function runTenantServiceProgram<C extends TenantServiceSettings>(
  program: TenantServiceProgram<C>,
): Promise<void> {
  const logger = createLogger({ service: program.service });
  let config: C;
  try {
    config = program.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.fatal({ issues: error.issues }, error.message);
    process.exit(2);
  }
  logger.level = config.LOG_LEVEL;
  const telemetry = startTelemetry({
    serviceName: program.service,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  });
  try {
    const runtime = await startTenantRuntime({
      service: program.service,
      settings: config,
      logger,
      ...program.runtime,
    });
    const app = await program.build({
      runtime,
      config,
      logger,
      onClose: async () => {
        await runtime.close();
        await telemetry.shutdown();
      },
    });
    await runService(app, { port: config.PORT });
  } catch (error) {
    logger.fatal(
      { err: error },
      `the ${program.service} service could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    await telemetry.shutdown();
    process.exit(1);
  }
}
