import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { devstack, uniqueName, until } from '@tenantry/devstack/testing';
import { type Role, TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { createLogger } from '@tenantry/logger';
import { type ProviderFakes, startProviderFakes } from '@tenantry/provider-fakes';
import type { ServiceInstance } from '@tenantry/service-kit';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { type OperatorHarness, startOperatorHarness } from '@tenantry/tenant-operator/testing';
import { buildChatService } from './chat-service.ts';
import { loadChatConfig } from './config.ts';
import shipped from './models.json' with { type: 'json' };

/**
 * The chat service over real parts: the operator onboards tenants on Plans of the test's own, the
 * service's runtime follows their Secrets and keys, the provider fakes answer the official SDKs, the
 * app listens on a real port (streams and disconnects need a socket).
 */

const READY = { timeout: 90_000, interval: 200 };
/** A context window small enough for a test to exceed, on a model of the test's price table. */
export const SMALL_CONTEXT_MODEL = { provider: 'openai', id: 'gpt-4o-mini', contextWindow: 3000 } as const;

export interface ChatHarness {
  h: OperatorHarness;
  runtime: TenantRuntime;
  app: ServiceInstance;
  url: string;
  fakes: ProviderFakes;
  signer: TenantKeys;
  /** The tenants' names by the prefix they were asked for. */
  tenants: Record<string, string>;
  /** Sets a test Plan's monthly tokens. */
  setPlanTokens(plan: string, monthlyTokens: number): Promise<void>;
  stop(): Promise<void>;
}

export interface Caller {
  tenant: string;
  userId: string;
  role: Role;
  token: string;
}

export async function startChatHarness(
  plans: Record<string, number>,
  planByPrefix: Record<string, string>,
): Promise<ChatHarness> {
  const h = await startOperatorHarness();
  const names = Object.fromEntries(Object.keys(planByPrefix).map((prefix) => [prefix, h.tenantName(prefix)]));
  const tenants: Record<string, string> = {};
  for (const [prefix, plan] of Object.entries(planByPrefix)) tenants[names[prefix] as string] = plan;
  const custom = h.admin.makeApiClient(CustomObjectsApi);
  const ref = { group: 'tenantry.dev', version: 'v1alpha1', plural: 'plans' };
  for (const [name, monthlyTokens] of Object.entries(plans)) {
    await custom.createClusterCustomObject({
      ...ref,
      body: {
        apiVersion: 'tenantry.dev/v1alpha1',
        kind: 'Plan',
        metadata: { name },
        spec: {
          rateLimit: { requestsPerMinute: 10_000 },
          chat: { monthlyTokens },
          kafka: { partitions: 1, retentionHours: 1 },
          postgres: { connectionLimit: 20 },
        },
      },
    });
  }
  await Promise.all(Object.entries(tenants).map(([tenant, plan]) => h.createTenant(tenant, { plan })));
  for (const tenant of Object.keys(tenants)) {
    await until(
      `tenant ${tenant} Ready`,
      async () => (await h.condition(tenant, 'Ready'))?.status === 'True',
      READY,
    );
  }

  const fakes = await startProviderFakes({ tokensPerSecond: 5_000 });
  // The shipped table with one model's context window cut down: the override path, and a 413 to reach.
  const pricesFile = join(tmpdir(), `${uniqueName('chat-prices')}.json`);
  writeFileSync(
    pricesFile,
    JSON.stringify({
      models: shipped.models.map((m) =>
        m.id === SMALL_CONTEXT_MODEL.id ? { ...m, contextWindow: SMALL_CONTEXT_MODEL.contextWindow } : m,
      ),
    }),
  );
  const config = loadChatConfig({
    PLATFORM_NAMESPACE: h.namespace,
    KAFKA_BROKERS: devstack().kafka.brokers.join(','),
    DB_MAX_CONNECTIONS_PER_TENANT: '5',
    LOG_LEVEL: 'fatal',
    OPENAI_BASE_URL: fakes.openaiBaseUrl,
    OPENAI_API_KEY: 'sk-test',
    ANTHROPIC_BASE_URL: fakes.anthropicBaseUrl,
    ANTHROPIC_API_KEY: 'anthropic-test',
    GEMINI_BASE_URL: fakes.geminiBaseUrl,
    GEMINI_API_KEY: 'gemini-test',
    CHAT_PRICES_FILE: pricesFile,
    PROVIDER_MAX_RETRY_DELAY_MS: '3000',
  });
  const logger = createLogger({ service: 'chat', level: config.LOG_LEVEL });
  const runtime = await startTenantRuntime({ service: 'chat', settings: config, logger, kc: h.admin });
  const signer = await TenantKeys.start({ kc: h.admin, namespace: h.keysNamespace, signing: true });
  await until(
    'the runtime to follow every tenant',
    async () =>
      Object.keys(tenants).every((t) => runtime.databases.has(t) && runtime.keys.has(t) && signer.has(t)),
    READY,
  );
  const app = await buildChatService({ runtime, config, logger, kc: h.admin });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });

  return {
    h,
    runtime,
    app,
    url,
    fakes,
    signer,
    tenants: names,
    async setPlanTokens(plan, monthlyTokens) {
      await custom.patchClusterCustomObject({
        ...ref,
        name: plan,
        body: [{ op: 'replace', path: '/spec/chat/monthlyTokens', value: monthlyTokens }],
      });
    },
    async stop() {
      await app.close();
      await runtime.close();
      await signer.close();
      await fakes.close();
      for (const name of Object.keys(plans))
        await custom.deleteClusterCustomObject({ ...ref, name }).catch(() => {});
      await h.stop();
    },
  };
}

export async function signIn(signer: TenantKeys, tenant: string, role: Role = 'member'): Promise<Caller> {
  const userId = randomUUID();
  const token = await signer.sign({
    sub: userId,
    tenant,
    role,
    email: `${userId.slice(0, 8)}@${tenant}.test`,
    emailVerified: true,
    sid: randomUUID(),
  });
  return { tenant, userId, role, token };
}

export function headersOf(who: Caller, tenant = who.tenant): Record<string, string> {
  return { [TENANT_HEADER]: tenant, authorization: `Bearer ${who.token}` };
}

/** The events a tenant's outbox holds of a type, oldest first. */
export async function outboxEvents(runtime: TenantRuntime, tenant: string, type: string) {
  return runtime.databases.sql(tenant)<{ aggregateId: string; payload: Record<string, unknown> }[]>`
    select aggregate_id as "aggregateId", payload from outbox where type = ${type} order by seq
  `;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are asserted field by field
  body: any;
}

/** A request to the listening app as a client sends it. */
export async function call(
  url: string,
  who: Caller,
  method: string,
  path: string,
  body?: unknown,
  tenant = who.tenant,
): Promise<HttpAnswer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...headersOf(who, tenant),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Reads an SSE response to its end (or until `stopAfter` says so), frame by frame. */
export async function readSse(
  response: Response,
  stopAfter?: (event: SseEvent) => boolean,
): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = response.body?.getReader();
  if (!reader) return events;
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = frame.match(/^event: (.*)$/m)?.[1];
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      const parsed = { event, data };
      events.push(parsed);
      if (stopAfter?.(parsed)) {
        await reader.cancel();
        return events;
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return events;
}
