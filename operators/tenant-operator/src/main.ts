import { runProgram } from '@tenantry/service-kit';
import { loadOperatorConfig, type OperatorConfig } from './config.ts';
import { loadKubeConfig, startOperator } from './operator.ts';

/**
 * The tenant-operator process, run like every program of the platform: configuration (exit 2 naming
 * every invalid variable), telemetry when a collector is configured, the operator, then a graceful
 * stop on SIGTERM.
 */
await runProgram<OperatorConfig>({
  name: 'tenant-operator',
  loadConfig: () => loadOperatorConfig(),
  logLevel: (config) => config.logLevel,
  otlpEndpoint: (config) => config.otlpEndpoint,
  async start({ config, logger }) {
    const operator = await startOperator({
      kc: loadKubeConfig(),
      config,
      logger,
      onLostLeadership: () => {
        logger.error('exiting after losing leadership, so this replica restarts clean');
        process.exit(1);
      },
    });
    // The configuration in effect, for whoever reads the logs; the logger redacts the admin URL.
    logger.info({ ports: operator.ports, config }, 'tenant-operator running');
    return { close: () => operator.stop() };
  },
});
