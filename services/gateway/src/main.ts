import { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_HOST, runProgram } from '@tenantry/service-kit';
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

/**
 * The gateway process, run like every program of the platform (config errors exit 2, a failed start
 * exits 1, a signal closes gracefully). Telemetry starts only with a collector: without one the
 * gateway records nothing, and a client's traceparent passes upstream as sent, which is what a
 * gateway that is no part of the trace should do; the SDK's context manager would cost a few percent
 * of CPU per request for nothing.
 */
await runProgram<GatewayConfig>({
  name: 'gateway',
  loadConfig: () => loadGatewayConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  otlpEndpoint: (config) => config.OTEL_EXPORTER_OTLP_ENDPOINT,
  async start({ config, logger }) {
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
    });
    try {
      await app.listen({ port: config.PORT, host: DEFAULT_HOST });
    } catch (error) {
      await app.close();
      throw error;
    }
    return { close: () => app.close() };
  },
});
