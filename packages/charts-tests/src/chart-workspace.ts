import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment, devstack } from '@tenantry/devstack/testing';
import { parseAllDocuments } from 'yaml';

/** The repository checkout these tests run from. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * What the charts are made of: charts/ itself and what its symlinks point at (crds/, the operator's
 * config/, the gateway's config/rbac.yaml). A workspace copies exactly these, symlinks as symlinks, so a link to anything else breaks
 * the tests just as it would break `helm package`.
 */
const CHART_SOURCES = ['charts', 'crds', 'operators/tenant-operator/config', 'services/gateway/config'];

/** A Kubernetes object as rendered (wire form). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's stdin. */
  input?: string;
}

// Helm logs every symlink it follows; expected here, and noise in an error message.
const SYMLINK_NOTICE = /^.*found symbolic link in path.*\n?/gm;

/** Runs a command to completion; rejects with its stderr when it exits non-zero. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: 'pipe' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(stdout).toString('utf8'));
      const message = Buffer.concat(stderr).toString('utf8').replace(SYMLINK_NOTICE, '').trim();
      reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${message}`));
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Every object of a multi-document YAML stream, skipping empty documents. */
export function parseObjects(source: string): KubeObject[] {
  return parseAllDocuments(source)
    .map((document) => {
      const [error] = document.errors;
      if (error) throw new Error(`rendered YAML does not parse: ${error.message}`);
      return document.toJS() as KubeObject | null;
    })
    .filter((object): object is KubeObject => object !== null);
}

/**
 * A private copy of the charts, built and linted there, so tests never write archives or lock files
 * into the checkout, and run with their own Helm home (no repositories configured: a dependency that
 * is not a local file:// chart cannot resolve).
 */
export interface ChartWorkspace {
  root: string;
  helm(args: readonly string[]): Promise<string>;
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** `helm template` of a chart (a path relative to the workspace) into a namespace. */
  render(chart: string, release: string, namespace: string, args?: readonly string[]): Promise<KubeObject[]>;
  dispose(): Promise<void>;
}

export async function createChartWorkspace(): Promise<ChartWorkspace> {
  const root = await mkdtemp(join(tmpdir(), 'tenantry-charts-'));
  for (const source of CHART_SOURCES) {
    const target = join(root, source);
    await mkdir(dirname(target), { recursive: true });
    await cp(join(REPO_ROOT, source), target, {
      recursive: true,
      verbatimSymlinks: true,
      // Built dependency archives of a developer's checkout: the workspace builds its own.
      filter: (path) => !path.endsWith('.tgz'),
    });
  }
  const helmHome = join(root, '.helm-home');
  const env = childEnvironment({
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    KUBECONFIG: devstack().kube.kubeconfig,
  });
  const { helm, kubectl } = devstack().bin;
  const workspace: ChartWorkspace = {
    root,
    helm: (args) => run(helm, args, { env, cwd: root }),
    kubectl: (args, input) => run(kubectl, args, { env, cwd: root, input }),
    async render(chart, release, namespace, args = []) {
      return parseObjects(
        await workspace.helm(['template', release, chart, '--namespace', namespace, ...args]),
      );
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
  return workspace;
}
