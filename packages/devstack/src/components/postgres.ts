import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import postgres from 'postgres';
import { MissingPrerequisiteError, withContext } from '../errors.ts';
import { runCommand, runningPid, startProcess, stopProcess, waitUntil } from '../processes.ts';
import type { ComponentContext, LocalComponent } from './component.ts';

/**
 * A private PostgreSQL cluster from Debian's packages (`postgresql`), never the system service. As
 * root, initdb refuses to run, so the server runs as the unprivileged `postgres` account the package
 * creates (or `nobody`). Authentication over TCP is scram-sha-256 for every role: tenant isolation is
 * tested through per-tenant credentials, which `trust` would silently void.
 */
export const SUPERUSER = 'tenantry';
const PROCESS = 'postgres';

function findBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((entry) => existsSync(join(base, entry, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(base, majors[0], 'bin') : undefined;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The account the server runs as: ourselves, or an unprivileged one when we are root. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      // try the next one
    }
  }
  throw new MissingPrerequisiteError(
    'no unprivileged account to run PostgreSQL as: create a "postgres" user',
  );
}

/** True when every directory above `dir` lets other users through (needed for the server account). */
function traversableByOthers(dir: string): boolean {
  for (let current = dir; current !== dirname(current); current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
  }
  return true;
}

/**
 * The data directory. It lives in the state dir unless the server account cannot reach it (a checkout
 * under /root, mode 700), in which case it goes below the system temp dir, keyed by the state dir.
 */
function clusterDir(ctx: ComponentContext): string {
  const inState = join(ctx.config.stateDir, 'postgres');
  if (!isRoot() || traversableByOthers(ctx.config.stateDir)) return inState;
  const key = Buffer.from(ctx.config.stateDir).toString('base64url').slice(-40);
  return join(tmpdir(), `tenantry-postgres-${key}`);
}

export function postgresUrl(ctx: ComponentContext, database = 'postgres'): string {
  const { postgresPassword, ports } = ctx.state;
  return `postgres://${SUPERUSER}:${encodeURIComponent(postgresPassword)}@127.0.0.1:${ports.postgres}/${database}`;
}

async function canQuery(ctx: ComponentContext): Promise<boolean> {
  const sql = postgres(postgresUrl(ctx), { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function ensureInstalled(ctx: ComponentContext): Promise<string> {
  const found = findBinDir();
  if (found) return found;
  if (!isRoot()) {
    throw new MissingPrerequisiteError(
      'PostgreSQL server not found under /usr/lib/postgresql: install it with `sudo apt-get install postgresql`',
    );
  }
  await ctx.progress.step('installing PostgreSQL from Debian packages (apt-get)', async () => {
    const env = { ...ctx.config.environment, DEBIAN_FRONTEND: 'noninteractive' };
    await runCommand('apt-get', ['update', '-qq'], { env });
    await runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], { env });
  });
  const installed = findBinDir();
  if (!installed) throw new MissingPrerequisiteError('apt-get installed postgresql but no initdb was found');
  return installed;
}

export const postgresComponent: LocalComponent = {
  name: 'postgres',
  ports: ['postgres'],
  processes: [PROCESS],

  async provision(ctx) {
    await ensureInstalled(ctx);
  },

  async healthy(ctx) {
    return runningPid(ctx.config.stateDir, PROCESS) !== undefined && (await canQuery(ctx).catch(() => false));
  },

  async start(ctx) {
    const { stateDir } = ctx.config;
    if (await this.healthy(ctx)) return;
    await stopProcess(stateDir, PROCESS, 'SIGINT');
    const bin = await ensureInstalled(ctx);
    const account = serverAccount();
    const root = clusterDir(ctx);
    const data = join(root, 'data');
    mkdirSync(root, { recursive: true, mode: 0o700 });
    if (account) chownSync(root, account.uid, account.gid);

    if (!existsSync(join(data, 'PG_VERSION'))) {
      await withContext('initialising the PostgreSQL cluster', async () => {
        rmSync(data, { recursive: true, force: true });
        const pwfile = join(root, 'pwfile');
        writeFileSync(pwfile, `${ctx.state.postgresPassword}\n`, { mode: 0o600 });
        if (account) chownSync(pwfile, account.uid, account.gid);
        const args = ['-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256'];
        args.push('--auth-local=peer', '--encoding=UTF8', '--no-locale', '--no-sync');
        const options = account ? { uid: account.uid, gid: account.gid } : {};
        try {
          execFileSync(join(bin, 'initdb'), args, { ...options, stdio: 'pipe', cwd: root });
        } catch (error) {
          const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
          throw new Error(`initdb failed: ${stderr.trim() || String(error)}`);
        } finally {
          rmSync(pwfile, { force: true });
        }
      });
    }
    // A postmaster.pid left by a killed server would make the new one refuse to start.
    rmSync(join(data, 'postmaster.pid'), { force: true });
    chmodSync(data, 0o700);

    // Durability settings are off on purpose: this cluster is disposable and tests should be fast.
    const settings = {
      listen_addresses: '127.0.0.1',
      port: String(ctx.state.ports.postgres),
      unix_socket_directories: '',
      max_connections: '500',
      shared_buffers: '128MB',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      log_min_messages: 'warning',
      log_min_duration_statement: '-1',
    };
    const args = [
      '-D',
      data,
      ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    ];
    const pid = startProcess(stateDir, {
      name: PROCESS,
      command: join(bin, 'postgres'),
      args,
      cwd: root,
      ...(account ?? {}),
    });
    await waitUntil(() => canQuery(ctx), {
      what: 'PostgreSQL',
      timeoutMs: 60_000,
      pid,
      stateDir,
      name: PROCESS,
    });
  },

  async stop(ctx) {
    // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
    await stopProcess(ctx.config.stateDir, PROCESS, 'SIGINT');
  },
};
