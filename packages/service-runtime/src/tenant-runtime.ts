import { KubeConfig } from '@kubernetes/client-node';
import { createOutboxRelay, type OutboxRelay } from '@tenantry/events';
import { type RequestIdentity, requestIdentity, TenantKeys } from '@tenantry/identity';
import type { Logger } from '@tenantry/logger';
import {
  createServiceMetrics,
  observeDbQuery,
  registerPoolMetrics,
  type ServiceMetrics,
} from '@tenantry/metrics';
import type { DependencyCheck } from '@tenantry/service-kit';
import { defaultKeysNamespace } from '@tenantry/tenant-api';
import { TenantDatabases } from '@tenantry/tenant-db';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { TenantServiceSettings } from './settings.ts';

// kafkajs is CommonJS: Node's ESM loader exposes only its default export reliably.
const { Kafka: KafkaClient, logLevel } = kafkajs;

export interface TenantRuntimeOptions {
  /** The service's name: Kafka client id, logs. */
  service: string;
  settings: Pick<
    TenantServiceSettings,
    'PLATFORM_NAMESPACE' | 'KAFKA_BROKERS' | 'DB_MAX_CONNECTIONS_PER_TENANT' | 'DB_MAX_TENANTS_OPEN'
  > & {
    /** Where the private signing keys are (with `signing`); `<PLATFORM_NAMESPACE>-keys` by default. */
    KEYS_NAMESPACE?: string | undefined;
  };
  logger: Logger;
  /** Defaults to the KUBECONFIG file, else the pod's service account. */
  kc?: KubeConfig;
  /** Publish the outbox of every tenant database (services that append events). */
  relay?: boolean;
  /** Follow the tenants' private signing keys to issue tokens (auth only); others only verify. */
  signing?: boolean;
}

/**
 * The shared parts of a tenant-facing service, started and stopped together: each tenant's database
 * (its own credentials), each tenant's signing keys, Kafka and the outbox relay, the metrics they
 * record into, and the readiness checks `/health` reports.
 */
export interface TenantRuntime {
  databases: TenantDatabases;
  keys: TenantKeys;
  identity: RequestIdentity;
  kafka: Kafka;
  metrics: ServiceMetrics;
  dependencies: Record<string, DependencyCheck>;
  /** Stops the relay, then the watches and pools. */
  close(): Promise<void>;
}

export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export async function startTenantRuntime(options: TenantRuntimeOptions): Promise<TenantRuntime> {
  const { settings, logger } = options;
  const kc = options.kc ?? defaultKubeConfig();
  const namespace = settings.PLATFORM_NAMESPACE;
  const metrics = createServiceMetrics();
  const closers: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  // Once, in reverse order of starting; a second call waits for the first.
  const close = () => {
    closing ??= (async () => {
      for (const closer of [...closers].reverse()) await closer();
    })();
    return closing;
  };
  try {
    const databases = await TenantDatabases.start({
      kc,
      namespace,
      maxConnectionsPerTenant: settings.DB_MAX_CONNECTIONS_PER_TENANT,
      maxTenantsOpen: settings.DB_MAX_TENANTS_OPEN,
      onQuery: observeDbQuery(metrics),
      logger,
    });
    closers.push(() => databases.close());
    registerPoolMetrics(metrics.registry, () => databases.stats());

    // Signing: the private keys, in the keys namespace (granted to auth alone). Verifying: the public
    // keys the operator publishes in the platform namespace.
    const signing = options.signing ?? false;
    const keys = await TenantKeys.start({
      kc,
      namespace: signing ? (settings.KEYS_NAMESPACE ?? defaultKeysNamespace(namespace)) : namespace,
      logger,
      signing,
    });
    closers.push(() => keys.close());

    const kafka = new KafkaClient({
      clientId: options.service,
      brokers: settings.KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
    });
    let relay: OutboxRelay | undefined;
    if (options.relay) {
      relay = createOutboxRelay({
        kafka,
        tenants: () => databases.tenants().map((tenant) => ({ tenant, sql: databases.sql(tenant) })),
        logger,
      });
      relay.start();
      closers.push(() => relay?.stop() ?? Promise.resolve());
    }

    const admin: Admin = kafka.admin();
    let adminConnected: Promise<void> | undefined;
    closers.push(async () => {
      if (adminConnected) await admin.disconnect();
    });
    const dependencies: Record<string, DependencyCheck> = {
      kafka: async () => {
        adminConnected ??= admin.connect().catch((error: unknown) => {
          adminConnected = undefined;
          throw error;
        });
        await adminConnected;
        await admin.describeCluster();
      },
    };

    return {
      databases,
      keys,
      identity: requestIdentity({ keys, serves: (tenant) => databases.has(tenant) }),
      kafka,
      metrics,
      dependencies,
      close,
    };
  } catch (error) {
    await close();
    throw new Error(
      `while starting ${options.service}'s tenant runtime: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
