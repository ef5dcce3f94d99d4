import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createProgress, down, formatSeconds, loadConfig, repoRoot, status, up } from '@tenantry/devstack';
import { localServiceEnv, startPlatformServices } from '@tenantry/local-platform';
import { createLogger } from '@tenantry/logger';
import {
  applyDefaultPlans,
  applyManifests,
  installCrds,
  loadOperatorConfig,
  type RunningOperator,
  startOperator,
} from '@tenantry/tenant-operator';
import pino from 'pino';
import { parseAllDocuments } from 'yaml';
import { platformLogFile } from './platform-logs.ts';

/**
 * `npm run up`: the platform running locally, in the foreground, until Ctrl-C: the infrastructure
 * (devstack), the CRDs and default plans, the tenant operator, the gateway (4000) with every built
 * service of the registry, and the example tenants. The terminal shows progress, tables of tenants and
 * services, what to do next, and one line when something a person must look at goes unhealthy; the
 * programs' logs go to a file (`npm run logs` follows it).
 */
const NAMESPACE = 'tenantry-system';
const BASE_DOMAIN = 'tenantry.localhost';
const READY_TIMEOUT_MS = 120_000;
const config = loadConfig('dev');
const progress = createProgress();
const print = (line = '') => process.stdout.write(`${line}\n`);
const logFile = platformLogFile(config.stateDir);
const logDestination = pino.destination({ dest: logFile, mkdir: true, sync: false });

/** Each service's state as the gateway's aggregate health reports it (`GET /api/health`). */
async function serviceHealth(gatewayUrl: string): Promise<Record<string, string>> {
  try {
    const response = await fetch(`${gatewayUrl}/api/health`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { gateway?: string; services?: Record<string, string> };
    return { gateway: body.gateway ?? 'unknown', ...body.services };
  } catch {
    return { gateway: 'unreachable' };
  }
}

interface TenantView {
  metadata: { name: string; creationTimestamp?: string };
  spec: { plan: string };
  status?: {
    hosts?: string[];
    readySeconds?: number;
    conditions?: { type: string; status: string; reason: string }[];
  };
}

function exampleTenants() {
  const dir = join(repoRoot, 'examples', 'tenants');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => doc.toJS()));
}

async function waitForTenants(kc: KubeConfig, names: string[]): Promise<TenantView[]> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const tenants = await Promise.all(
      names.map(
        async (name) =>
          (await custom.getClusterCustomObject({
            group: 'tenantry.dev',
            version: 'v1alpha1',
            plural: 'tenants',
            name,
          })) as TenantView,
      ),
    );
    const ready = (t: TenantView) =>
      t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (tenants.every(ready) || Date.now() > deadline) return tenants;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  print('Starting Tenantry locally (the first run provisions and caches the infrastructure: a few minutes).');
  const { endpoints } = await up(config, progress);
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);

  await progress.step('installing CRDs and default plans', async () => {
    await installCrds(kc);
    await applyDefaultPlans(kc);
    // The platform namespace, and the keys namespace of the private Secrets (the operator's and auth's
    // default name for it), which only they are meant to read.
    for (const name of [NAMESPACE, `${NAMESPACE}-keys`]) {
      await kc
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name } } })
        .catch((error: { code?: number }) => {
          if (error.code !== 409) throw error;
        });
    }
  });
  const operator: RunningOperator = await progress.step('starting the tenant operator', () =>
    startOperator({
      kc,
      config: loadOperatorConfig({
        POSTGRES_ADMIN_URL: endpoints.postgres.url,
        KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
        PLATFORM_NAMESPACE: NAMESPACE,
        TENANTRY_BASE_DOMAIN: BASE_DOMAIN,
        OPERATOR_METRICS_PORT: '0',
        OPERATOR_PROBES_PORT: '0',
        OPERATOR_LEADER_ELECTION: 'false',
      }),
      logger: createLogger({ service: 'tenant-operator', level: 'info', destination: logDestination }),
    }),
  );
  const services = await progress.step('starting the gateway and the services', () =>
    startPlatformServices({
      kc,
      namespace: NAMESPACE,
      kafkaBrokers: endpoints.kafka.brokers,
      logger: createLogger({ service: 'platform', level: 'info', destination: logDestination }),
      env: localServiceEnv(endpoints),
    }).catch(async (error: unknown) => {
      await operator.stop();
      throw error;
    }),
  );
  const examples = exampleTenants();
  const tenants = await progress.step(
    `applying examples/tenants (${examples.length}) and waiting for Ready`,
    async () => {
      await applyManifests(kc, examples, 'tenantry-up');
      return waitForTenants(
        kc,
        examples.map((t) => (t as TenantView).metadata.name),
      );
    },
  );

  print();
  print(`Tenantry is up in ${formatSeconds(performance.now() - started)}.`);
  print();
  print('  TENANT     PLAN        READY  TIME TO READY  HOSTS');
  for (const t of tenants) {
    const ready = t.status?.conditions?.find((c) => c.type === 'Ready');
    const time = t.status?.readySeconds === undefined ? '-' : `${t.status.readySeconds.toFixed(1)}s`;
    print(
      `  ${t.metadata.name.padEnd(10)} ${t.spec.plan.padEnd(11)} ${(ready?.status === 'True' ? 'True' : `${ready?.status ?? 'Unknown'} (${ready?.reason})`).padEnd(6)} ${time.padEnd(14)} ${(t.status?.hosts ?? []).join(', ')}`,
    );
  }
  const gateway = services.urls.gateway;
  const health = await serviceHealth(gateway);
  print();
  print('  SERVICE        STATE          URL');
  for (const [name, state] of Object.entries(health)) {
    print(`  ${name.padEnd(14)} ${state.padEnd(14)} ${services.urls[name] ?? '-'}`);
  }
  const host = `acme.${BASE_DOMAIN}`;
  const json = `-H 'content-type: application/json'`;
  print();
  print(`Gateway: ${gateway} (the tenant comes from the Host header: ${host}, globex.${BASE_DOMAIN}, ...)`);
  print();
  const mail = endpoints.mailpit.apiUrl;
  const auth = (body: string) =>
    `curl -s ${gateway}/api/auth/signin -H 'Host: ${host}' ${json} -d '${body}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken'`;
  const linkToken = (query: string) =>
    `curl -s '${mail}/message/latest?query=${query}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).Text.match(/token=(\\S+)/)[1]'`;
  print(`Mail goes to Mailpit: ${endpoints.mailpit.uiUrl}`);
  print();
  print('Sign up, confirm the address with the mailed link, sign in, and stream a chat reply:');
  print(
    `  curl -s ${gateway}/api/auth/signup -H 'Host: ${host}' ${json} -d '{"email":"ada@acme.test","password":"correct horse battery"}'`,
  );
  // The mail takes a moment: outbox, Kafka, the notifications service, SMTP.
  print(`  sleep 3; LINK=$(${linkToken('to:ada@acme.test%20subject:confirm')})`);
  print(
    `  curl -s ${gateway}/api/auth/verify-email -H 'Host: ${host}' ${json} -d "{\\"token\\":\\"$LINK\\",\\"password\\":\\"correct horse battery\\"}"`,
  );
  print(`  TOKEN=$(${auth('{"email":"ada@acme.test","password":"correct horse battery"}')})`);
  print(
    `  curl -N ${gateway}/api/chat -H 'Host: ${host}' ${json} -H "Authorization: Bearer $TOKEN" -d '{"message":"Hello","provider":"openai","model":"gpt-4o-mini","stream":true}'`,
  );
  print(`  curl -s ${gateway}/api/chat/usage -H 'Host: ${host}' -H "Authorization: Bearer $TOKEN"`);
  print(`  curl -s ${gateway}/api/users/me -H 'Host: ${host}' -H "Authorization: Bearer $TOKEN"`);
  print(
    `  curl -s ${gateway}/api/notifications/preferences -H 'Host: ${host}' -H "Authorization: Bearer $TOKEN"`,
  );
  print(
    `  curl -s ${gateway}/api/users/me -H 'Host: globex.${BASE_DOMAIN}' -H "Authorization: Bearer $TOKEN"   # 401: another tenant`,
  );
  print();
  print(
    "acme's owner (spec.admin ops@acme.test) was invited by mail: accept, upgrade the plan, read usage and analytics:",
  );
  print(`  INVITE=$(${linkToken('to:ops@acme.test%20subject:invited')})`);
  print(
    `  curl -s ${gateway}/api/auth/accept-invitation -H 'Host: ${host}' ${json} -d "{\\"token\\":\\"$INVITE\\",\\"password\\":\\"owner pass phrase\\"}"`,
  );
  print(`  OWNER=$(${auth('{"email":"ops@acme.test","password":"owner pass phrase"}')})`);
  print(
    `  curl -s ${gateway}/api/billing/subscriptions -H 'Host: ${host}' ${json} -H "Authorization: Bearer $OWNER" -d '{"plan":"enterprise","billingEmail":"billing@acme.test"}'`,
  );
  print(`  curl -s ${gateway}/api/billing/usage -H 'Host: ${host}' -H "Authorization: Bearer $OWNER"`);
  print(
    `  curl -s "${gateway}/api/analytics/chat/by-provider?startDate=$(date -u +%F)&endDate=$(date -u +%F)" -H 'Host: ${host}' -H "Authorization: Bearer $OWNER"`,
  );
  print(`  curl -s ${gateway}/api/health; open ${gateway}/docs for the API`);
  print();
  print('Try it from another shell:');
  print(`  export KUBECONFIG=${endpoints.kube.kubeconfig}`);
  print(`  ${endpoints.bin.kubectl} get tenants`);
  print(`  ${endpoints.bin.kubectl} describe tenant acme`);
  print(
    `  sed 's/acme/newco/g; s/Acme Inc./NewCo/' examples/tenants/acme.yaml | ${endpoints.bin.kubectl} apply -f -`,
  );
  print(`  ${endpoints.bin.kubectl} wait --for=condition=Ready tenant/newco`);
  print(`  psql "${endpoints.postgres.url}" -c '\\l tenant_*'`);
  print();
  print(
    `Logs of the operator and the services: npm run logs (one service: npm run logs -- auth); ${logFile}`,
  );
  print(`Infrastructure logs: ${join(config.stateDir, 'logs')}`);
  print();
  print('Press Ctrl-C to stop everything.');

  await new Promise<void>((resolve) => {
    // The watchdog also keeps the event loop alive: signal listeners alone do not.
    const reported = new Set<string>();
    let lastHealth = health;
    const watchdog = setInterval(async () => {
      for (const component of await status(config)) {
        if (!component.healthy && !reported.has(component.name)) {
          reported.add(component.name);
          console.error(
            `warning: ${component.name} is not healthy any more (see ${join(config.stateDir, 'logs')})`,
          );
        }
      }
      // One line per change of a service's state, not per check.
      const now = await serviceHealth(gateway);
      for (const [name, state] of Object.entries(now)) {
        if (lastHealth[name] !== state && lastHealth[name] !== undefined) {
          console.error(`${name}: ${lastHealth[name]} → ${state} (npm run logs -- ${name})`);
        }
      }
      lastHealth = now;
    }, 10_000);
    let stopping = false;
    const stop = () => {
      // Ctrl-C may arrive twice (from the terminal and forwarded by the launcher): stop once.
      if (stopping) return;
      stopping = true;
      clearInterval(watchdog);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  print();
  await progress.step('stopping the gateway and services', () => services.stop());
  await progress.step('stopping the tenant operator', () => operator.stop());
  await down(config, progress);
  logDestination.flushSync();
  print(
    'Stopped; no process left running. Data is kept in .devstack/dev (npm run devstack -- down --purge deletes it).',
  );
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
