#!/usr/bin/env node
// Entry point of the README's commands. It runs on a fresh machine with nothing but Node and npm, so it
// uses only Node's standard library: it installs pnpm (pinned by package.json's packageManager) into the
// cache, installs the workspace's dependencies when the lockfile changed, then hands over to TypeScript.
//
//   node scripts/bootstrap.mjs up        the platform running locally, until Ctrl-C
//   node scripts/bootstrap.mjs test      typecheck, lint, import boundaries, then the whole vitest suite
//   node scripts/bootstrap.mjs check     typecheck, lint and import boundaries only
//   node scripts/bootstrap.mjs devstack  the devstack CLI (up, down, status, env)
//   node scripts/bootstrap.mjs logs      the local platform's log, readable and followed
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cacheDir = process.env.TENANTRY_CACHE_DIR || join(homedir(), '.cache', 'tenantry');
const [command = 'help', ...args] = process.argv.slice(2);

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

function run(cmd, cmdArgs, options = {}) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`while running ${cmd}: ${result.error.message}`);
  return result.status ?? 1;
}

function say(message) {
  process.stdout.write(`▸ ${message}\n`);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old: Tenantry needs Node >= 20.19 (https://nodejs.org)`);
  }
}

function ensurePnpm() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version = String(pkg.packageManager).replace(/^pnpm@/, '');
  const dir = join(cacheDir, 'pnpm', version);
  const bin = join(dir, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
  if (!existsSync(bin)) {
    say(`installing pnpm ${version} into ${dir}`);
    mkdirSync(dir, { recursive: true });
    const status = run(
      'npm',
      ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', `pnpm@${version}`],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (status !== 0 || !existsSync(bin)) fail(`could not install pnpm ${version} from the npm registry`);
  }
  return bin;
}

function installStamp() {
  const hash = createHash('sha256');
  hash.update(process.version);
  for (const file of ['pnpm-lock.yaml', 'package.json', 'pnpm-workspace.yaml']) {
    const path = join(root, file);
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest('hex');
}

function ensureDependencies(pnpm) {
  const stampFile = join(root, 'node_modules', '.tenantry-install-stamp');
  const stamp = installStamp();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  // CI installs exactly the committed lockfile; a developer's install may update it.
  const frozen = process.env.CI && existsSync(join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
  say('installing workspace dependencies (pnpm install)');
  const status = run(process.execPath, [pnpm, 'install', ...frozen, '--reporter=append-only'], {
    env: { ...process.env, npm_config_confirm_modules_purge: 'false' },
  });
  if (status !== 0) fail('pnpm install failed (see above)');
  writeFileSync(stampFile, installStamp());
}

/**
 * Runs a long-lived child with the terminal, forwarding SIGINT/SIGTERM so that Ctrl-C reaches it
 * exactly as if it had been started directly; resolves with its exit code.
 */
function runForwardingSignals(cmd, cmdArgs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => fail(`while running ${cmd}: ${error.message}`));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const bin = (tool) => join(root, 'node_modules', '.bin', tool);
const typescript = (script, scriptArgs) =>
  runForwardingSignals(process.execPath, ['--import', 'tsx', script, ...scriptArgs]);

function check() {
  say('typecheck (tsc)');
  if (run(bin('tsc'), ['-p', 'tsconfig.json']) !== 0) return 1;
  say('lint and format (biome)');
  if (run(bin('biome'), ['check', '.']) !== 0) return 1;
  say('import boundaries (dependency-cruiser, .dependency-cruiser.cjs)');
  return run(bin('depcruise'), [
    'packages',
    'services',
    'operators',
    'bench',
    'scripts',
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'err',
  ]);
}

checkNode();
const pnpm = ensurePnpm();
ensureDependencies(pnpm);

let status;
switch (command) {
  case 'up':
    status = await typescript('scripts/up.ts', args);
    break;
  case 'devstack':
    status = await typescript('packages/devstack/src/cli.ts', args);
    break;
  case 'logs':
    status = await typescript('scripts/logs.ts', args);
    break;
  case 'check':
    status = check();
    break;
  case 'test':
    status = check();
    if (status === 0) {
      say('test suite (vitest, against real PostgreSQL, Kafka, kube-apiserver, ClickHouse)');
      status = await runForwardingSignals(bin('vitest'), ['run', ...args]);
    }
    break;
  default:
    fail(`unknown command "${command}": use up, test, check, devstack or logs`);
}
process.exit(status);
