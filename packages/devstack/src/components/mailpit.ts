import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { withContext } from '../errors.ts';
import { runCommand, runningPid, startProcess, stopProcess, waitUntil } from '../processes.ts';
import { versions } from '../versions.ts';
import type { ComponentContext, LocalComponent } from './component.ts';
import { ensureGo, goBuildEnv, installBinary } from './go.ts';

/**
 * Mailpit: a real SMTP server that keeps every message it receives and shows them through an HTTP
 * API and a web UI. Services send through it as through any SMTP relay (any credentials or none are
 * accepted; nothing is relayed onwards), and tests read what was sent through its API.
 *
 * Built once from the Go module proxy and cached by version. The module ships the web UI's sources,
 * not the bundle its binary embeds, so the bundle is built first with npm and esbuild in a copy of the
 * module source; without it the binary still works, only its UI pages are blank (see buildWebUi).
 */
const PROCESS = 'mailpit';
const MODULE = 'github.com/axllent/mailpit';
/** Left in the install dir when (part of) the web UI could not be built, with the reason. */
const UI_MISSING = 'web-ui-missing.txt';

/** How the stack's Mailpit behaves wherever it runs (a local process here, a container in containers.ts). */
export const MAILPIT_SETTINGS = [
  // Services authenticate or not, as their settings say; both must work without TLS on loopback.
  '--smtp-auth-accept-any',
  '--smtp-auth-allow-insecure',
  // The default (500 messages) prunes the oldest every minute: on a stack shared by parallel test
  // files that could delete a message a test is still waiting for. Age bounds the store instead.
  '--max',
  '0',
  '--max-age',
  '7d',
  // No network beyond loopback: no release check against GitHub, no reverse DNS of clients.
  '--disable-version-check',
  '--smtp-disable-rdns',
];

function installDir(cacheDir: string): string {
  return join(cacheDir, `mailpit-${versions.mailpit}`);
}

export function mailpitBin(cacheDir: string): string {
  return join(installDir(cacheDir), 'bin', 'mailpit');
}

export function mailpitUrl(ctx: ComponentContext): string {
  return `http://127.0.0.1:${ctx.state.ports.mailpitHttp}`;
}

function dataDir(ctx: ComponentContext): string {
  return join(ctx.config.stateDir, 'mailpit');
}

/** The module's source, from the Go module cache (read-only there, hence the copy before building). */
async function moduleSource(ctx: ComponentContext): Promise<string> {
  const output = await runCommand('go', ['mod', 'download', '-json', `${MODULE}@${versions.mailpit}`], {
    cwd: installDir(ctx.config.cacheDir),
    env: goBuildEnv(ctx.config.environment),
  });
  const json = output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1);
  const { Dir, Error: failure } = JSON.parse(json) as { Dir?: string; Error?: string };
  if (!Dir) throw new Error(`go mod download ${MODULE}@${versions.mailpit}: ${failure ?? output.trim()}`);
  return Dir;
}

/** The npm errors of a failed npm command, without its warnings (engine notices fill screens). */
function npmErrors(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const errors = message.split('\n').filter((line) => /^npm error (?!A complete log)/.test(line));
  return errors.length > 0 ? errors.slice(0, 3).join('\n') : message;
}

/**
 * rapidoc renders the API reference page (/api/v1/) and nothing else: server/ui-src/docs.js only
 * imports it. Without it, that page is empty and the rest of the UI is whole.
 */
function withoutApiReference(src: string): void {
  const manifest = join(src, 'package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> };
  delete pkg.dependencies?.rapidoc;
  writeFileSync(manifest, JSON.stringify(pkg, null, 2));
  writeFileSync(
    join(src, 'server', 'ui-src', 'docs.js'),
    '// devstack: rapidoc could not be installed, so the API reference page is empty.\n',
  );
}

/**
 * Bundles the web UI into server/ui/dist, where the binary's go:embed picks it up, with Mailpit's own
 * lock file and esbuild config. Resolves with what is missing from it instead of failing: SMTP and the
 * API, which services and tests use, do not need it.
 */
async function buildWebUi(ctx: ComponentContext, src: string): Promise<string | undefined> {
  // Variables npm sets for the `npm run devstack` that started us would make this npm act on the
  // workspace (its prefix, its scripts' settings) instead of Mailpit's package.
  const env = Object.fromEntries(
    Object.entries(ctx.config.environment).filter(([name]) => !/^npm_/i.test(name)),
  );
  const npm = (args: string[]) => runCommand('npm', args, { cwd: src, env });
  // Peers are left out: the only ones are sass-embedded's tree (esbuild-sass-plugin compiles with the
  // `sass` package unless told otherwise, and the embedded compiler is the largest download) and a
  // lint parser. Install scripts are skipped: esbuild ships its binary as a platform package, and an
  // optional native file watcher would try to compile itself.
  const options = ['--include=dev', '--omit=peer', '--ignore-scripts', '--no-audit', '--no-fund'];
  let missing: string | undefined;
  try {
    try {
      await npm(['ci', ...options]);
    } catch (error) {
      // A registry that does not serve every version the lock pins (a mirror) fails `npm ci`. On this
      // project's build machines the npm mirror stops at rapidoc 9 while Mailpit pins 12: rather than
      // lose the whole UI for its API reference page, install everything else at the lock's versions.
      missing = `the API reference page (/api/v1/), because npm ci failed:\n${npmErrors(error)}`;
      withoutApiReference(src);
      await npm(['install', ...options]);
    }
    await npm(['run', 'build']);
    if (!existsSync(join(src, 'server', 'ui', 'dist', 'app.js'))) {
      return 'the whole web UI: the esbuild build wrote no server/ui/dist/app.js';
    }
    return missing;
  } catch (error) {
    return `the whole web UI, because:\n${npmErrors(error)}`;
  }
}

/** Ready means the HTTP API answers and the SMTP server greets, not merely that a port is open. */
async function ready(ctx: ComponentContext): Promise<boolean> {
  const response = await fetch(`${mailpitUrl(ctx)}/api/v1/info`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) return false;
  const info = (await response.json()) as { Version?: unknown };
  return typeof info.Version === 'string' && (await smtpGreets(ctx.state.ports.smtp));
}

function smtpGreets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let received = '';
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (!received.includes('\n')) return;
      socket.end('QUIT\r\n');
      resolve(received.startsWith('220'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

export const mailpitComponent: LocalComponent = {
  name: 'mailpit',
  ports: ['smtp', 'mailpitHttp'],
  processes: [PROCESS],

  async provision(ctx) {
    const { cacheDir, environment } = ctx.config;
    if (existsSync(mailpitBin(cacheDir))) return;
    await ensureGo('Mailpit is built from the Go module proxy', '1.26');
    const version = versions.mailpit;
    const dir = installDir(cacheDir);
    mkdirSync(dir, { recursive: true });
    await ctx.progress.step(`building Mailpit ${version} (web UI with npm, then go build)`, () =>
      withContext(`building Mailpit ${version}`, () =>
        installBinary(dir, 'mailpit', async (scratch) => {
          const src = join(scratch, 'src');
          cpSync(await moduleSource(ctx), src, { recursive: true });
          await runCommand('chmod', ['-R', 'u+w', src]);

          const uiMissing = await buildWebUi(ctx, src);
          rmSync(join(dir, UI_MISSING), { force: true });
          if (uiMissing) {
            writeFileSync(
              join(dir, UI_MISSING),
              `Mailpit was built without ${uiMissing}\n\nSMTP and the API work. To retry, delete ${dir} and run devstack up.\n`,
            );
            ctx.progress.info(`Mailpit built without part of its web UI: see ${join(dir, UI_MISSING)}`);
          }

          const out = join(scratch, 'mailpit');
          await runCommand(
            'go',
            [
              'build',
              '-trimpath',
              '-ldflags',
              `-s -w -X ${MODULE}/config.Version=${version}`,
              '-o',
              out,
              '.',
            ],
            { cwd: src, env: goBuildEnv(environment) },
          );
          return out;
        }),
      ),
    );
  },

  async healthy(ctx) {
    return runningPid(ctx.config.stateDir, PROCESS) !== undefined && (await ready(ctx).catch(() => false));
  },

  async start(ctx) {
    const { stateDir, cacheDir, environment } = ctx.config;
    if (await this.healthy(ctx)) return;
    await stopProcess(stateDir, PROCESS);
    mkdirSync(dataDir(ctx), { recursive: true });
    // Mailpit reads MP_* variables as settings: a developer's own must not reconfigure the stack's.
    const env = Object.fromEntries(Object.entries(environment).filter(([name]) => !name.startsWith('MP_')));
    const pid = startProcess(stateDir, {
      name: PROCESS,
      command: mailpitBin(cacheDir),
      args: [
        '--listen',
        `127.0.0.1:${ctx.state.ports.mailpitHttp}`,
        '--smtp',
        `127.0.0.1:${ctx.state.ports.smtp}`,
        // On disk in the state dir, so mail survives a restart of Mailpit (as it would at a real
        // provider) and `down --purge` removes it with the rest of the stack.
        '--database',
        join(dataDir(ctx), 'mailpit.db'),
        ...MAILPIT_SETTINGS,
        '--quiet',
      ],
      env,
    });
    await waitUntil(() => ready(ctx), {
      what: 'Mailpit',
      timeoutMs: 30_000,
      pid,
      stateDir,
      name: PROCESS,
    });
  },

  async stop(ctx) {
    await stopProcess(ctx.config.stateDir, PROCESS);
  },
};
