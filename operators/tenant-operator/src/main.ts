import pino from 'pino';
import { ConfigError, loadOperatorConfig } from './config.ts';
import { loadKubeConfig, startOperator } from './operator.ts';

/** The tenant-operator process: config → operator → wait for a signal → graceful shutdown. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadOperatorConfig>;
  try {
    config = loadOperatorConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`tenant-operator: invalid configuration: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ name: 'tenant-operator', level: config.logLevel });
  const operator = await startOperator({
    kc: loadKubeConfig(),
    config,
    logger,
    onLostLeadership: () => {
      logger.error('exiting after losing leadership, so this replica restarts clean');
      process.exit(1);
    },
  });
  logger.info({ ports: operator.ports, namespace: config.platformNamespace }, 'tenant-operator running');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await operator.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`tenant-operator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
