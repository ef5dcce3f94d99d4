import { ConfigError } from '@tenantry/config';
import { createLogger } from '@tenantry/logger';
import { runService } from '@tenantry/service-kit';
import { startTenantRuntime } from '@tenantry/service-runtime';
import { startTelemetry } from '@tenantry/telemetry';
import { loadUsersConfig, type UsersConfig } from './config.ts';
import { buildUsersService, SERVICE_NAME } from './users-service.ts';

/** The users service as a process: `node --import tsx src/main.ts`, configured by environment. */
const logger = createLogger({ service: SERVICE_NAME });

function configOrExit(): UsersConfig {
  try {
    return loadUsersConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // 2, not 1: a deployment mistake to fix, not a crash to retry.
    logger.fatal({ issues: error.issues }, error.message);
    process.exit(2);
  }
}

const config = configOrExit();
logger.level = config.LOG_LEVEL;
// First, so that everything started afterwards is traced.
const telemetry = startTelemetry({
  serviceName: SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
});

try {
  const runtime = await startTenantRuntime({ service: SERVICE_NAME, settings: config, logger });
  const app = await buildUsersService({
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
    `the users service could not start: ${error instanceof Error ? error.message : String(error)}`,
  );
  await telemetry.shutdown();
  process.exit(1);
}
