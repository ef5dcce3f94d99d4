/**
 * The tenant-facing services a benchmark runs as they run in a pod (auth and users, each its own
 * process reading the run's namespace), and the accounts it creates through auth. An account signed
 * up here reaches the users service the production way: auth's `user.signed_up` event over Kafka.
 */
import type { ChildProcess } from 'node:child_process';
import type { Endpoints } from '@tenantry/devstack';
import { TENANT_HEADER } from '@tenantry/identity';
import { databaseName } from '@tenantry/tenant-api';
import postgres from 'postgres';
import { until } from './bench-tenants.ts';
import { freePort, startProgram, waitForOk } from './processes.ts';

export type TenantServiceName = 'auth' | 'users';

export interface TenantService {
  process: ChildProcess;
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
}

/** The environment of auth and users for the benchmark tenants of `namespace`. */
export function tenantServicesEnv(endpoints: Endpoints, namespace: string): Record<string, string> {
  return {
    KUBECONFIG: endpoints.kube.kubeconfig,
    PLATFORM_NAMESPACE: namespace,
    KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
    LOG_LEVEL: 'error',
    // As in the image (services/Dockerfile).
    NODE_ENV: 'production',
    DB_MAX_CONNECTIONS_PER_TENANT: '10',
    // Benchmarks sign the same accounts in over and over from one address (auth only).
    LOCKOUT_ACCOUNT_FAILURES: '1000',
    LOCKOUT_ADDRESS_FAILURES: '10000',
  };
}

/**
 * Starts `services/<name>/src/main.ts` on a free port. It returns before the service listens, so the
 * caller can register the process for stopping first; then waitForService.
 */
export async function startTenantService(
  name: TenantServiceName,
  env: Record<string, string>,
  path: string,
): Promise<TenantService> {
  const port = await freePort();
  return {
    process: startProgram(`services/${name}/src/main.ts`, { ...env, PORT: String(port) }, path),
    port,
    url: `http://127.0.0.1:${port}`,
  };
}

/** Until the service answers its /health; fails at once when it exited. */
export function waitForService(service: TenantService): Promise<void> {
  return waitForOk(`${service.url}/health`, service.process);
}

/** Until auth serves `tenant`: once its Secret watch has the tenant's signing key and database. */
export async function waitForAuthTenant(auth: TenantService, tenant: string): Promise<void> {
  await until(`the auth service to serve tenant ${tenant}`, 30_000, async () => {
    if (auth.process.exitCode !== null)
      throw new Error(`the auth service exited with ${auth.process.exitCode}`);
    const response = await fetch(`${auth.url}/api/auth/.well-known/jwks.json`, {
      headers: { [TENANT_HEADER]: tenant },
    });
    await response.arrayBuffer();
    return response.ok;
  });
}

/** POSTs `body` as JSON for `tenant` (as the gateway would name it); anything but 2xx throws. */
export async function postJson(url: string, tenant: string, body: unknown): Promise<Response> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TENANT_HEADER]: tenant },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response;
}

export interface Credentials {
  email: string;
  password: string;
}

/**
 * Creates the account (auth answers 202 whether or not the email was taken) and verifies it, as its
 * owner would from the emailed link: unverified accounts cannot sign in. The link's token is read from
 * the tenant's outbox (`postgresUrl`: the superuser URL of the stack's PostgreSQL).
 */
export async function signUp(
  auth: TenantService,
  tenant: string,
  credentials: Credentials,
  postgresUrl: string,
): Promise<void> {
  await (await postJson(`${auth.url}/api/auth/signup`, tenant, credentials)).arrayBuffer();
  const url = new URL(postgresUrl);
  url.pathname = `/${databaseName(tenant)}`;
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const [event] = await sql<{ token: string }[]>`
      select payload->>'token' as token from outbox
      where type = 'user.email_verification_requested' and payload->>'email' = ${credentials.email}
      order by seq desc limit 1`;
    if (!event) throw new Error(`no verification requested for ${credentials.email}`);
    const body = { token: event.token, password: credentials.password };
    await (await postJson(`${auth.url}/api/auth/verify-email`, tenant, body)).arrayBuffer();
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** What a sign-in returns that benchmarks use. */
export interface SignedIn {
  accessToken: string;
  user: { id: string };
}

export async function signIn(
  auth: TenantService,
  tenant: string,
  credentials: Credentials,
): Promise<SignedIn> {
  return (await (await postJson(`${auth.url}/api/auth/signin`, tenant, credentials)).json()) as SignedIn;
}
