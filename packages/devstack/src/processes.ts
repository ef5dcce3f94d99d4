import { type SpawnOptions, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Background processes owned by a stack. Each runs detached in its own process group (so stopping it
 * also stops the children it forked, e.g. PostgreSQL backends), logs to `<stateDir>/logs/<name>.log`,
 * and is recorded in `<stateDir>/pids/<name>.pid` with the executable it runs, so a stale pid reused
 * by an unrelated process after a crash or reboot is never signalled.
 */
export interface ManagedProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

interface PidRecord {
  pid: number;
  command: string;
}

export function logFile(stateDir: string, name: string): string {
  return join(stateDir, 'logs', `${name}.log`);
}

function pidFile(stateDir: string, name: string): string {
  return join(stateDir, 'pids', `${name}.pid`);
}

export function startProcess(stateDir: string, spec: ManagedProcessSpec): number {
  const log = openSync(logFile(stateDir, spec.name), 'a');
  try {
    const options: SpawnOptions = {
      cwd: spec.cwd,
      // Without `env`, Node passes this process's environment on.
      env: spec.env,
      detached: true,
      stdio: ['ignore', log, log],
    };
    if (spec.uid !== undefined) options.uid = spec.uid;
    if (spec.gid !== undefined) options.gid = spec.gid;
    const child = spawn(spec.command, spec.args, options);
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.unref();
    const record: PidRecord = { pid: child.pid, command: spec.command };
    writeFileSync(pidFile(stateDir, spec.name), JSON.stringify(record));
    return child.pid;
  } finally {
    closeSync(log);
  }
}

function readPidRecord(stateDir: string, name: string): PidRecord | undefined {
  const file = pidFile(stateDir, name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** True when the pid is alive and still runs the executable we started (not a reused pid). */
function isOurs(record: PidRecord): boolean {
  if (!isAlive(record.pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((part) => part === record.command || part.endsWith(`/${record.command}`));
  } catch {
    return false;
  }
}

/** The pid of a process this stack started that is still running, if any. */
export function runningPid(stateDir: string, name: string): number | undefined {
  const record = readPidRecord(stateDir, name);
  return record && isOurs(record) ? record.pid : undefined;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** A zombie has exited; only its parent's wait() is missing, so it counts as gone. */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid) || groupHasLiveMember(pid);
}

function groupHasLiveMember(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command: state, ppid, pgrp.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/**
 * Stops a managed process and its whole process group: `signal` first (each component names its
 * graceful one), SIGKILL after `graceMs`. Leftovers of a crashed run are handled the same way, so
 * after this returns nothing of that component is running.
 */
export async function stopProcess(
  stateDir: string,
  name: string,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 15_000,
): Promise<boolean> {
  const record = readPidRecord(stateDir, name);
  if (!record) return false;
  const ours = isOurs(record);
  // A group whose leader died (kill -9) can still hold children: they keep the leader's pgid.
  if (ours || groupAlive(record.pid)) {
    signalGroup(record.pid, signal);
    const deadline = Date.now() + graceMs;
    while (groupAlive(record.pid) && Date.now() < deadline) await sleep(100);
    if (groupAlive(record.pid)) {
      signalGroup(record.pid, 'SIGKILL');
      const killDeadline = Date.now() + 10_000;
      while (groupAlive(record.pid) && Date.now() < killDeadline) await sleep(50);
    }
  }
  rmSync(pidFile(stateDir, name), { force: true });
  return ours;
}

/** The last lines of a component's log, to explain a failure without sending the reader digging. */
export function logTail(stateDir: string, name: string, lines = 20): string {
  const file = logFile(stateDir, name);
  if (!existsSync(file)) return '(no log)';
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

export interface WaitOptions {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Fail fast when the process died instead of waiting out the timeout. */
  pid?: number;
  stateDir: string;
  name: string;
}

export async function waitUntil(check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (options.pid !== undefined && !isAlive(options.pid)) {
      throw new Error(
        `${options.what}: the process exited. Last lines of ${logFile(options.stateDir, options.name)}:\n${logTail(options.stateDir, options.name)}`,
      );
    }
    await sleep(options.intervalMs ?? 200);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(
    `${options.what}: not ready after ${options.timeoutMs / 1000}s${reason}. Last lines of ${logFile(options.stateDir, options.name)}:\n${logTail(options.stateDir, options.name)}`,
  );
}

/** Runs a command to completion, capturing output; rejects with its output when it fails. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; onLine?: (line: string) => void } = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let pending = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      if (options.onLine) {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      reject(code === 'ENOENT' ? new Error(`${command} not found on PATH`) : error);
    });
    child.on('close', (code) => {
      if (code === 0) resolvePromise(output);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code}:\n${output.trim().split('\n').slice(-30).join('\n')}`,
          ),
        );
    });
    child.stdin.end(options.input ?? '');
  });
}
