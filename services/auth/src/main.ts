import { ConfigError } from '@tenantry/config';
import { createLogger } from '@tenantry/logger';
import { runService } from '@tenantry/service-kit';
import { startTenantRuntime } from '@tenantry/service-runtime';
import { startTelemetry } from '@tenantry/telemetry';
import { buildAuthService, SERVICE_NAME } from './auth-service.ts';
import { type AuthConfig, loadAuthConfig } from './config.ts';

/** The auth process: config → runtime (tenant databases, keys, outbox relay) → HTTP → graceful exit. */
async function main(): Promise<void> {
  let config: AuthConfig;
  try {
    config = loadAuthConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${SERVICE_NAME}: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
  const telemetry = startTelemetry({
    serviceName: SERVICE_NAME,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  });
  const runtime = await startTenantRuntime({
    service: SERVICE_NAME,
    settings: config,
    logger,
    relay: true,
    signing: true,
  });
  const app = await buildAuthService({
    runtime,
    config,
    logger,
    onClose: async () => {
      await runtime.close();
      await telemetry.shutdown();
    },
  });
  await runService(app, { port: config.PORT });
}

main().catch((error: unknown) => {
  process.stderr.write(`${SERVICE_NAME}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
