import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * What a stack keeps between `up`s in `<stateDir>/state.json`: its ports and generated secrets. Ports
 * are chosen free on first `up` and reused afterwards, so endpoints (and etcd's and Kafka's on-disk
 * peer addresses) stay stable across restarts; a port taken by someone else meanwhile is replaced.
 */
export const portNames = [
  'postgres',
  'kafka',
  'kafkaController',
  'etcd',
  'etcdPeer',
  'apiserver',
  'stripeMock',
  'smtp',
  'mailpitHttp',
  'providerFakes',
] as const;
export type PortName = (typeof portNames)[number];

export interface StackState {
  ports: Record<PortName, number>;
  postgresPassword: string;
  kubeAdminToken: string;
  kafkaClusterId: string;
}

function stateFile(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export function readState(stateDir: string): StackState | undefined {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

export function ensureStateDirs(stateDir: string): void {
  for (const dir of ['', 'logs', 'pids']) mkdirSync(join(stateDir, dir), { recursive: true });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. Like Kafka's own
 * Uuid.randomUuid(), never one starting with '-': command-line tools would read it as an option.
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Loads the state, or creates it. `inUse` lists ports held by components of this stack that are
 * already running: those are kept even though they are not free.
 */
export async function loadOrCreateState(stateDir: string, inUse: Set<PortName>): Promise<StackState> {
  const previous = readState(stateDir);
  const ports = {} as Record<PortName, number>;
  const taken = new Set<number>();
  for (const name of portNames) {
    const old = previous?.ports[name];
    let port = old !== undefined && (inUse.has(name) || (await portIsFree(old))) ? old : await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[name] = port;
  }
  const state: StackState = {
    ports,
    postgresPassword: previous?.postgresPassword ?? randomBytes(18).toString('base64url'),
    kubeAdminToken: previous?.kubeAdminToken ?? randomBytes(24).toString('hex'),
    kafkaClusterId: previous?.kafkaClusterId ?? kafkaClusterId(),
  };
  writeFileSync(stateFile(stateDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return state;
}
