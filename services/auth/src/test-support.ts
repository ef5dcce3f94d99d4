import { devstack, EVENTUALLY, until } from '@tenantry/devstack/testing';
import { createLogger } from '@tenantry/logger';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import type { TenantSpec } from '@tenantry/tenant-api';
import { type OperatorHarness, startOperatorHarness } from '@tenantry/tenant-operator/testing';
import type { LightMyRequestResponse } from 'fastify';
import { type AuthServiceInstance, buildAuthService } from './auth-service.ts';
import { type AuthConfig, loadAuthConfig } from './config.ts';

/**
 * The auth service as it runs in a cluster, in-process: the real operator provisions the tenants
 * (database, roles, migrations including auth's, topic, signing key), and the service follows the
 * operator's Secrets through the API server and talks to the real PostgreSQL and Kafka.
 */
export const READY = { timeout: 60_000, interval: 200 };
export { EVENTUALLY, until };

export interface AuthHarness {
  operator: OperatorHarness;
  runtime: TenantRuntime;
  app: AuthServiceInstance;
  config: AuthConfig;
  /** Creates a tenant through the operator and waits until the service can serve it. */
  tenant(spec?: Partial<TenantSpec>, prefix?: string): Promise<string>;
  request(
    tenant: string,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    options?: { body?: unknown; token?: string; ip?: string },
  ): Promise<LightMyRequestResponse>;
  /** The payload of the newest outbox event of `type` about `email` (how a test reads "the email"). */
  lastEvent(tenant: string, type: string, email: string): Promise<Record<string, string> | undefined>;
  /** The token of the newest invitation to `email` (the designated admin), once auth has sent it. */
  invitation(tenant: string, email: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startAuthHarness(env: Record<string, string> = {}): Promise<AuthHarness> {
  const operator = await startOperatorHarness();
  const config = loadAuthConfig({
    PLATFORM_NAMESPACE: operator.namespace,
    KEYS_NAMESPACE: operator.keysNamespace,
    KAFKA_BROKERS: devstack().kafka.brokers.join(','),
    LOG_LEVEL: 'error',
    // The cheapest argon2id cost the config allows: the tests exercise flows, the benchmark measures cost.
    PASSWORD_HASH_MEMORY_KIB: '8192',
    PASSWORD_HASH_ITERATIONS: '1',
    // The designated admins' invitations go out within a second of a tenant being served.
    ADMIN_INVITATION_SWEEP_SECONDS: '1',
    ...env,
  });
  const logger = createLogger({ service: 'auth', level: config.LOG_LEVEL });
  const runtime = await startTenantRuntime({
    service: 'auth',
    settings: config,
    logger,
    kc: operator.admin,
    relay: true,
    signing: true,
  });
  const app = await buildAuthService({ runtime, config, logger });

  const harness: AuthHarness = {
    operator,
    runtime,
    app,
    config,
    async tenant(spec = {}, prefix = 'auth') {
      const name = operator.tenantName(prefix);
      await operator.createTenant(name, { plan: 'free', ...spec });
      await until(
        `tenant ${name} Ready`,
        async () => (await operator.condition(name, 'Ready'))?.status === 'True',
        READY,
      );
      await until(
        `tenant ${name} served`,
        async () => runtime.databases.has(name) && runtime.keys.has(name),
        EVENTUALLY,
      );
      return name;
    },
    request(tenant, method, url, options = {}) {
      return app.inject({
        method,
        url,
        headers: {
          'x-tenantry-tenant': tenant,
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        ...(options.body === undefined ? {} : { payload: options.body as object }),
        remoteAddress: options.ip ?? '10.0.0.1',
      });
    },
    async lastEvent(tenant, type, email) {
      const [row] = await runtime.databases.sql(tenant)<{ payload: Record<string, string> }[]>`
        select payload from outbox where type = ${type} and payload->>'email' = ${email} order by seq desc limit 1
      `;
      return row?.payload;
    },
    async invitation(tenant, email) {
      let token: string | undefined;
      await until(
        `the invitation of ${email} at ${tenant}`,
        async () => {
          token = (await harness.lastEvent(tenant, 'user.invitation_requested', email))?.token;
          return token !== undefined;
        },
        EVENTUALLY,
      );
      return token ?? '';
    },
    async stop() {
      await app.close();
      await runtime.close();
      await operator.stop();
    },
  };
  return harness;
}
