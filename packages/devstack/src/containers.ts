import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ClickHouseContainer, type StartedClickHouseContainer } from '@testcontainers/clickhouse';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { KafkaContainer, type StartedKafkaContainer } from '@testcontainers/kafka';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { goToolBin, kubeComponent, kubeconfigPath } from './components/kube.ts';
import { MAILPIT_SETTINGS } from './components/mailpit.ts';
import { SUPERUSER } from './components/postgres.ts';
import { aiProviderEndpoints, providerFakesComponent } from './components/provider-fakes.ts';
import { STRIPE_TEST_KEY } from './components/stripe-mock.ts';
import type { DevstackConfig } from './config.ts';
import type { Endpoints } from './endpoints.ts';
import { stopProcess } from './processes.ts';
import type { Progress } from './progress.ts';
import type { UpResult } from './stack.ts';
import { ensureStateDirs, loadOrCreateState } from './state.ts';
import { versions } from './versions.ts';

/**
 * The same components from testcontainers, where a Docker engine exists (TENANTRY_INFRA=containers).
 * Containers live as long as the process that started them (testcontainers' reaper removes them when
 * it exits), so this provider serves in-process callers: the test global setup and `npm run up`.
 * kubectl and helm still come from devstack's cached builds.
 */
const images = {
  postgres: 'postgres:15-alpine',
  // Confluent Platform 7.9 ships Apache Kafka 3.9, the line kafkajs works with (see versions.ts).
  kafka: 'confluentinc/cp-kafka:7.9.0',
  k3s: 'rancher/k3s:v1.33.4-k3s1',
  clickhouse: 'clickhouse/clickhouse-server:25.8-alpine',
  // The projects' own images, at the versions the local provider builds.
  stripeMock: `stripe/stripe-mock:${versions.stripeMock}`,
  mailpit: `axllent/mailpit:${versions.mailpit}`,
};
const STRIPE_MOCK_HTTP = 12111;
const MAILPIT_SMTP = 1025;
const MAILPIT_HTTP = 8025;

interface Started {
  postgres: StartedPostgreSqlContainer;
  kafka: StartedKafkaContainer;
  k3s: StartedK3sContainer;
  clickhouse?: StartedClickHouseContainer;
  stripeMock: StartedTestContainer;
  mailpit: StartedTestContainer;
}

let running: Started | undefined;

export async function upContainers(config: DevstackConfig, progress: Progress): Promise<UpResult> {
  ensureStateDirs(config.stateDir);
  const state = await loadOrCreateState(config.stateDir, new Set());
  if (!running) {
    await kubeComponent.provision({ config, state, progress });
    const password = randomBytes(18).toString('base64url');
    const [postgres, kafka, k3s, clickhouse, stripeMock, mailpit] = await Promise.all([
      progress.step(`starting ${images.postgres}`, () =>
        new PostgreSqlContainer(images.postgres)
          .withUsername(SUPERUSER)
          .withPassword(password)
          .withDatabase('postgres')
          .start(),
      ),
      progress.step(`starting ${images.kafka}`, () => new KafkaContainer(images.kafka).withKraft().start()),
      progress.step(`starting ${images.k3s}`, () => new K3sContainer(images.k3s).start()),
      config.clickhouseUrl
        ? undefined
        : progress.step(`starting ${images.clickhouse}`, () =>
            new ClickHouseContainer(images.clickhouse).start(),
          ),
      progress.step(`starting ${images.stripeMock}`, () =>
        new GenericContainer(images.stripeMock)
          .withExposedPorts(STRIPE_MOCK_HTTP)
          .withWaitStrategy(
            Wait.forHttp('/v1/customers', STRIPE_MOCK_HTTP).withHeaders({
              authorization: `Bearer ${STRIPE_TEST_KEY}`,
            }),
          )
          .start(),
      ),
      progress.step(`starting ${images.mailpit}`, () =>
        new GenericContainer(images.mailpit)
          .withCommand(MAILPIT_SETTINGS)
          .withExposedPorts(MAILPIT_SMTP, MAILPIT_HTTP)
          .withWaitStrategy(Wait.forHttp('/api/v1/info', MAILPIT_HTTP))
          .start(),
      ),
    ]);
    running = { postgres, kafka, k3s, stripeMock, mailpit, ...(clickhouse ? { clickhouse } : {}) };
  }
  // The provider fakes are the workspace's own Node program, with no image: a local process here too.
  const ctx = { config, state, progress };
  await progress.step('starting provider-fakes', () => providerFakesComponent.start(ctx));
  const { postgres, kafka, k3s, clickhouse, stripeMock, mailpit } = running;
  const mailpitHttp = `http://${mailpit.getHost()}:${mailpit.getMappedPort(MAILPIT_HTTP)}`;
  writeFileSync(kubeconfigPath(config.stateDir), k3s.getKubeConfig(), { mode: 0o600 });
  const endpoints: Endpoints = {
    provider: 'containers',
    postgres: {
      url: postgres.getConnectionUri(),
      host: postgres.getHost(),
      port: postgres.getPort(),
      user: postgres.getUsername(),
      password: postgres.getPassword(),
    },
    kafka: { brokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`] },
    kube: {
      kubeconfig: kubeconfigPath(config.stateDir),
      server: `https://${k3s.getHost()}:${k3s.getMappedPort(6443)}`,
    },
    clickhouse: clickhouse
      ? { mode: 'http', url: clickhouse.getConnectionUrl() }
      : { mode: 'http', url: config.clickhouseUrl ?? '' },
    stripe: {
      url: `http://${stripeMock.getHost()}:${stripeMock.getMappedPort(STRIPE_MOCK_HTTP)}`,
      apiKey: STRIPE_TEST_KEY,
    },
    smtp: { host: mailpit.getHost(), port: mailpit.getMappedPort(MAILPIT_SMTP) },
    mailpit: { apiUrl: `${mailpitHttp}/api/v1`, uiUrl: `${mailpitHttp}/` },
    aiProviders: aiProviderEndpoints(ctx),
    bin: { kubectl: goToolBin(config.cacheDir, 'kubectl'), helm: goToolBin(config.cacheDir, 'helm') },
  };
  return {
    endpoints,
    started: ['postgres', 'kafka', 'k3s', 'stripe-mock', 'mailpit', ...(clickhouse ? ['clickhouse'] : [])],
  };
}

export async function downContainers(config: DevstackConfig, progress: Progress): Promise<void> {
  await stopProcess(config.stateDir, 'provider-fakes');
  if (!running) return;
  const { postgres, kafka, k3s, clickhouse, stripeMock, mailpit } = running;
  running = undefined;
  await progress.step('stopping containers', () =>
    Promise.all([
      postgres.stop(),
      kafka.stop(),
      k3s.stop(),
      clickhouse?.stop(),
      stripeMock.stop(),
      mailpit.stop(),
    ]).then(() => undefined),
  );
}
