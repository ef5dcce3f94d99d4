import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from '../config.ts';
import { runCommand, runningPid, startProcess, stopProcess, waitUntil } from '../processes.ts';
import { versions } from '../versions.ts';
import type { ComponentContext, LocalComponent } from './component.ts';
import { ensureGo } from './go.ts';

/**
 * An envtest-style control plane: etcd and kube-apiserver with RBAC on, no kubelet, scheduler or
 * controller-manager (so no pods run and nothing garbage-collects). Binaries, with kubectl and helm
 * of matching versions, are compiled from the Go module proxy once and cached by version.
 *
 * The admin authenticates with a static bearer token in group system:masters; tests impersonate
 * service accounts to exercise RBAC rules. Service-account tokens are signed with a key pair made here.
 */
const ETCD = 'etcd';
const APISERVER = 'kube-apiserver';
export const ADMIN_USER = 'devstack-admin';

export function goToolsDir(cacheDir: string): string {
  return join(cacheDir, `go-tools-k8s-${versions.kubernetes}-etcd-${versions.etcd}-helm-${versions.helm}`);
}

export function goToolBin(cacheDir: string, tool: 'kube-apiserver' | 'kubectl' | 'etcd' | 'helm'): string {
  return join(goToolsDir(cacheDir), 'bin', tool);
}

function kubeDir(ctx: ComponentContext): string {
  return join(ctx.config.stateDir, 'kube');
}

export function kubeconfigPath(stateDir: string): string {
  return join(stateDir, 'kubeconfig');
}

async function etcdHealthy(ctx: ComponentContext): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${ctx.state.ports.etcd}/health`, {
    signal: AbortSignal.timeout(2000),
  });
  if (!response.ok) return false;
  return ((await response.json()) as { health?: string }).health === 'true';
}

function servingCa(ctx: ComponentContext): Buffer | undefined {
  const file = join(kubeDir(ctx), 'pki', 'apiserver.crt');
  return existsSync(file) ? readFileSync(file) : undefined;
}

/** GET against the API server as admin; resolves with the status code and body. */
function apiGet(ctx: ComponentContext, path: string): Promise<{ status: number; body: string }> {
  const ca = servingCa(ctx);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: ctx.state.ports.apiserver,
        path,
        headers: { authorization: `Bearer ${ctx.state.kubeAdminToken}` },
        agent: new Agent({ ca, rejectUnauthorized: ca !== undefined }),
        timeout: 3000,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function apiserverReady(ctx: ComponentContext): Promise<boolean> {
  const { status } = await apiGet(ctx, '/readyz');
  return status === 200;
}

function writeCredentials(ctx: ComponentContext): { tokens: string; saPublic: string; saPrivate: string } {
  const dir = kubeDir(ctx);
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const saPublic = join(dir, 'pki', 'sa.pub');
  const saPrivate = join(dir, 'pki', 'sa.key');
  if (!existsSync(saPrivate)) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(saPublic, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(saPrivate, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const tokens = join(dir, 'tokens.csv');
  writeFileSync(tokens, `${ctx.state.kubeAdminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, {
    mode: 0o600,
  });
  return { tokens, saPublic, saPrivate };
}

function writeKubeconfig(ctx: ComponentContext): void {
  const ca = servingCa(ctx);
  if (!ca) throw new Error('kube-apiserver did not write its serving certificate');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'devstack',
        cluster: {
          server: `https://127.0.0.1:${ctx.state.ports.apiserver}`,
          'certificate-authority-data': ca.toString('base64'),
        },
      },
    ],
    users: [{ name: ADMIN_USER, user: { token: ctx.state.kubeAdminToken } }],
    contexts: [{ name: 'devstack', context: { cluster: 'devstack', user: ADMIN_USER } }],
    'current-context': 'devstack',
  };
  writeFileSync(kubeconfigPath(ctx.config.stateDir), stringify(kubeconfig), { mode: 0o600 });
}

export const kubeComponent: LocalComponent = {
  name: 'kube-apiserver',
  ports: ['etcd', 'etcdPeer', 'apiserver'],
  processes: [ETCD, APISERVER],

  async provision(ctx) {
    const tools = ['kube-apiserver', 'kubectl', 'etcd', 'helm'] as const;
    if (tools.every((tool) => existsSync(goToolBin(ctx.config.cacheDir, tool)))) return;
    await ensureGo('kube-apiserver, etcd, kubectl and helm are built from the Go module proxy', '1.24');
    const label = `building kube-apiserver, kubectl ${versions.kubernetes}, etcd ${versions.etcd}, helm ${versions.helm} from the Go module proxy`;
    await ctx.progress.step(label, () =>
      runCommand(
        'bash',
        [
          join(repoRoot, 'packages', 'devstack', 'scripts', 'build-go-tools.sh'),
          goToolsDir(ctx.config.cacheDir),
          versions.kubernetes,
          versions.etcd,
          versions.helm,
        ],
        { onLine: (line) => line.startsWith('[go-tools]') && ctx.progress.info(line) },
      ),
    );
  },

  async healthy(ctx) {
    const { stateDir } = ctx.config;
    if (runningPid(stateDir, ETCD) === undefined || runningPid(stateDir, APISERVER) === undefined)
      return false;
    return (await etcdHealthy(ctx).catch(() => false)) && (await apiserverReady(ctx).catch(() => false));
  },

  async start(ctx) {
    const { stateDir, cacheDir } = ctx.config;
    if (await this.healthy(ctx)) return;
    await stopProcess(stateDir, APISERVER);
    await stopProcess(stateDir, ETCD);
    const dir = kubeDir(ctx);
    mkdirSync(dir, { recursive: true });
    const { etcd, etcdPeer, apiserver } = ctx.state.ports;

    const etcdBin = goToolBin(cacheDir, 'etcd');
    const etcdPid = startProcess(stateDir, {
      name: ETCD,
      command: etcdBin,
      args: [
        '--name=devstack',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=devstack=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    await waitUntil(() => etcdHealthy(ctx), {
      what: 'etcd',
      timeoutMs: 30_000,
      pid: etcdPid,
      stateDir,
      name: ETCD,
    });

    const { tokens, saPublic, saPrivate } = writeCredentials(ctx);
    const apiserverPid = startProcess(stateDir, {
      name: APISERVER,
      command: goToolBin(cacheDir, 'kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcd}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiserver}`,
        `--cert-dir=${join(dir, 'pki')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokens}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPublic}`,
        `--service-account-signing-key-file=${saPrivate}`,
        '--allow-privileged=true',
        // No controller-manager creates service accounts or tokens, so pods must not require them.
        '--disable-admission-plugins=ServiceAccount',
        // The loopback address cannot back the `kubernetes` Service's endpoints.
        '--endpoint-reconciler-type=none',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        '--v=0',
      ],
    });
    await waitUntil(() => apiserverReady(ctx), {
      what: 'kube-apiserver',
      timeoutMs: 90_000,
      intervalMs: 300,
      pid: apiserverPid,
      stateDir,
      name: APISERVER,
    });
    writeKubeconfig(ctx);
  },

  async stop(ctx) {
    await stopProcess(ctx.config.stateDir, APISERVER);
    await stopProcess(ctx.config.stateDir, ETCD);
  },
};
