import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from './config.ts';
import { silentProgress } from './progress.ts';
import { components, down, status, up } from './stack.ts';
import type { StackState } from './state.ts';

/**
 * The stack's lifecycle, on a second stack of its own (not the suite's): idempotent `up`, recovery
 * after everything it started is killed with SIGKILL, stale locks and stolen ports, and a `down`
 * that leaves no process behind.
 */
const base = mkdtempSync(join(tmpdir(), 'tenantry-lifecycle-'));
const config = loadConfig('test', { ...process.env, TENANTRY_STATE_DIR: base, TENANTRY_INFRA: 'local' });

function allPids(): number[] {
  const pids: number[] = [];
  for (const component of components) {
    for (const name of component.processes) {
      try {
        pids.push(
          (JSON.parse(readFileSync(join(config.stateDir, 'pids', `${name}.pid`), 'utf8')) as { pid: number })
            .pid,
        );
      } catch {
        // no pid file: not started
      }
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function readState(): StackState {
  return JSON.parse(readFileSync(join(config.stateDir, 'state.json'), 'utf8')) as StackState;
}

afterAll(async () => {
  await down(config, silentProgress);
  rmSync(base, { recursive: true, force: true });
});

describe('devstack lifecycle', () => {
  test('up twice: the second call starts nothing and returns the same endpoints', async () => {
    const first = await up(config, silentProgress);
    expect(first.started.sort()).toEqual(components.map((c) => c.name).sort());
    const second = await up(config, silentProgress);
    expect(second.started).toEqual([]);
    expect(second.endpoints).toEqual(first.endpoints);
    expect((await status(config)).every((c) => c.healthy)).toBe(true);
  });

  test('up after kill -9 of everything it started brings every component back', async () => {
    const pids = allPids();
    expect(pids.length).toBe(components.flatMap((c) => c.processes).length);
    for (const pid of pids) process.kill(-pid, 'SIGKILL');
    await expect.poll(() => pids.filter(alive), { timeout: 10_000 }).toEqual([]);
    expect((await status(config)).some((c) => c.healthy)).toBe(false);

    const again = await up(config, silentProgress);
    expect(again.started.sort()).toEqual(components.map((c) => c.name).sort());
    expect((await status(config)).every((c) => c.healthy)).toBe(true);
  });

  test('a stale lock and a port taken while the stack was down do not stop the next up', async () => {
    await down(config, silentProgress);
    // A lock left by a process that died holding it.
    const lock = join(config.stateDir, 'devstack.lock');
    mkdirSync(lock, { recursive: true });
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    // Someone else took PostgreSQL's port meanwhile.
    const stolen = readState().ports.postgres;
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(stolen, '127.0.0.1', resolve));
    try {
      const result = await up(config, silentProgress);
      expect(result.endpoints.postgres.port).not.toBe(stolen);
      expect((await status(config)).every((c) => c.healthy)).toBe(true);
    } finally {
      squatter.close();
    }
  });

  test('down leaves no process behind', async () => {
    const pids = allPids();
    expect(pids.length).toBeGreaterThan(0);
    await down(config, silentProgress);
    expect(pids.filter(alive)).toEqual([]);
    expect((await status(config)).some((c) => c.running)).toBe(false);
  });
});
