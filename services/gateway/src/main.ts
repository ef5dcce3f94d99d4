import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@tenantry/config';
import { createLogger } from '@tenantry/logger';
import { runService } from '@tenantry/service-kit';
import { startTelemetry } from '@tenantry/telemetry';
import { type GatewayConfig, loadGatewayConfig, upstreamsOf } from './config.ts';
import { buildGateway } from './gateway.ts';

/** The kubeconfig file when one is configured (a developer's machine), else the pod's service account. */
function kubeConfigOf(config: GatewayConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.KUBECONFIG) {
    kc.loadFromFile(config.KUBECONFIG);
    return kc;
  }
  kc.loadFromCluster();
  // Outside a pod the in-cluster server address is unset; fail now rather than retry it for ever.
  const server = kc.getCurrentCluster()?.server ?? '';
  if (!URL.canParse(server)) {
    throw new Error(
      'not running in a Kubernetes pod and KUBECONFIG is not set: nothing to follow tenants from',
    );
  }
  return kc;
}

/** The gateway process: config → follow the tenants → listen → graceful shutdown on a signal. */
async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`gateway: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  // Without a collector the gateway records nothing, and a client's traceparent passes upstream as
  // sent, which is what a gateway that is no part of the trace should do. Its context manager
  // (AsyncLocalStorage, promise hooks) would cost a few percent of CPU per request for nothing.
  const telemetry = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? startTelemetry({ serviceName: 'gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT })
    : undefined;
  const app = await buildGateway({
    kc: kubeConfigOf(config),
    namespace: config.PLATFORM_NAMESPACE,
    upstreams: upstreamsOf(config),
    corsOrigins: config.CORS_ORIGINS,
    trustedProxies: config.TRUSTED_PROXIES,
    logger,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    upstreamCheckTimeoutMs: config.UPSTREAM_CHECK_TIMEOUT_MS,
    fallbackRequestsPerMinute: config.FALLBACK_REQUESTS_PER_MINUTE,
    onClose: async () => telemetry?.shutdown(),
  });
  await runService(app, { port: config.PORT });
}

main().catch((error: unknown) => {
  console.error(`gateway: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
