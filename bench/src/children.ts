import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far; 0 once it is gone. */
function processCpuSeconds(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // Fields after the command (which may contain spaces), from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A process and its direct children (NGINX's master and its workers). */
function withChildren(pid: number): number[] {
  const children = read(`/proc/${pid}/task/${pid}/children`)?.trim();
  return [pid, ...(children ? children.split(/\s+/).map(Number) : [])];
}

/** CPU seconds used by `pids` and their direct children. */
export function cpuSeconds(pids: number[]): number {
  return pids.flatMap(withChildren).reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

/** Busy CPU seconds of the whole machine (all cores: everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = read('/proc/stat')?.split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const ticks = values.slice(0, 8).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / TICKS_PER_SECOND;
}
