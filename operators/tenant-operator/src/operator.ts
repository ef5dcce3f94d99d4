import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@tenantry/logger';
import postgres from 'postgres';
import type { OperatorConfig } from './config.ts';
import { startTenantController, type TenantController } from './controller.ts';
import { startOperatorServers } from './runtime/http-servers.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { createOperatorMetrics } from './runtime/metrics.ts';
import { ADMIN_SEARCH_PATH } from './tenant/database.ts';
import { createKafkaAdmin } from './tenant/kafka-admin.ts';

/**
 * The whole operator as a value: metrics and probe servers, leader election, and the controller,
 * which runs only while this replica leads. `main.ts` runs it as a process; tests run it in-process.
 */
export interface RunningOperator {
  readonly isLeader: boolean;
  readonly ports: { metrics: number; probes: number };
  stop(): Promise<void>;
}

export interface OperatorOptions {
  kc: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
  /** Called when leadership is lost: the process should exit so that it restarts clean. */
  onLostLeadership?: () => void;
}

export async function startOperator({
  kc,
  config,
  logger,
  onLostLeadership,
}: OperatorOptions): Promise<RunningOperator> {
  const metrics = createOperatorMetrics();
  // Bounded: the pool serves every tenant's provisioning; connect_timeout makes an outage visible fast.
  const sql = postgres(config.postgresAdminUrl, {
    max: Math.max(2, config.concurrency),
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
    // No provisioning statement may wait forever (a lock held by a stuck session, a hung DROP): it
    // fails, the tenant reports why, and the work queue retries it. Sessions derived from this pool
    // (per-tenant locks, grants inside a tenant database) inherit these settings.
    connection: {
      application_name: 'tenantry-operator',
      lock_timeout: 30_000,
      statement_timeout: 60_000,
      search_path: ADMIN_SEARCH_PATH,
    },
  });
  const kafka = createKafkaAdmin(config.kafkaBrokers);
  let controller: TenantController | undefined;
  // Aborts a controller start that is still waiting for its watches when the operator stops.
  const stopping = new AbortController();
  let starting: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  const servers = await startOperatorServers({
    metricsPort: config.metricsPort,
    probesPort: config.probesPort,
    registry: metrics.registry,
    ready: () => {
      if (!config.leaderElection.enabled || elector?.isLeader) {
        return controller?.synced ? { ok: true } : { ok: false, reason: 'watches not synced yet' };
      }
      // A standby replica is ready: it serves probes and waits for the lease.
      return { ok: true };
    },
  });

  const lead = async () => {
    metrics.isLeader.set(1);
    logger.info({ identity: config.leaderElection.identity }, 'leading: starting the tenant controller');
    controller = await startTenantController({
      kc,
      config,
      postgres: sql,
      kafka,
      logger,
      metrics,
      signal: stopping.signal,
    });
  };

  let elector: LeaderElector | undefined;
  if (config.leaderElection.enabled) {
    elector = new LeaderElector({
      kc,
      namespace: config.platformNamespace,
      name: config.leaderElection.leaseName,
      identity: config.leaderElection.identity,
      onStartedLeading: () => {
        starting = lead().catch((error: unknown) => {
          if (stopping.signal.aborted) return;
          logger.error({ err: error }, 'could not start the tenant controller');
          onLostLeadership?.();
        });
      },
      onStoppedLeading: () => {
        metrics.isLeader.set(0);
        logger.warn('lost leadership');
        onLostLeadership?.();
      },
    });
    elector.start();
  } else {
    starting = lead();
    await starting;
  }

  return {
    get isLeader() {
      return !config.leaderElection.enabled || (elector?.isLeader ?? false);
    },
    ports: { metrics: servers.metricsPort, probes: servers.probesPort },
    stop() {
      // Idempotent: a test or a signal handler may stop an operator that is already stopping.
      stopped ??= (async () => {
        stopping.abort(new Error('the operator is stopping'));
        await starting?.catch(() => {});
        await controller?.stop();
        await elector?.stop();
        await servers.close();
        await kafka.close();
        await sql.end({ timeout: 5 });
      })();
      return stopped;
    },
  };
}

export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
