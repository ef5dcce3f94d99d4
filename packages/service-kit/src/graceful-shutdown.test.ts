import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./test-fixtures/slow-service.ts', import.meta.url));

interface ServiceProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  /** Resolves with the first log line matching, already written or still to come. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exitCode: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function startService(options: { SLOW_MS: number; SHUTDOWN_TIMEOUT_MS: number }): ServiceProcess {
  const args = [FIXTURE, String(options.SLOW_MS), String(options.SHUTDOWN_TIMEOUT_MS)];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  if (child.stdout === null) throw new Error('expected a stdout pipe');
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.predicate(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exitCode = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    lines,
    exitCode,
    waitForLine: (predicate) => {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

async function listeningUrl(service: ServiceProcess): Promise<string> {
  const line = await service.waitForLine((l) => String(l.msg).startsWith('Server listening at '));
  return String(line.msg).replace('Server listening at ', '');
}

test('on SIGTERM, finishes the in-flight request, closes and exits 0, logging each step', async () => {
  const service = startService({ SLOW_MS: 500, SHUTDOWN_TIMEOUT_MS: 10_000 });
  const url = await listeningUrl(service);

  const inFlight = fetch(`${url}/slow`);
  await service.waitForLine((l) => l.msg === 'incoming request');
  service.child.kill('SIGTERM');

  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(response.headers.get('connection')).toBe('close');
  expect(await response.json()).toEqual({ done: true });
  expect(await service.exitCode).toBe(0);
  expect(service.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['closing', 'closed, exiting']));
  expect(service.lines.find((l) => l.signal === 'SIGTERM')).toMatchObject({ service: 'slow', level: 30 });
  await expect(fetch(`${url}/health`)).rejects.toThrow();
});

test('exits 1 when in-flight work outlasts the shutdown timeout', async () => {
  const service = startService({ SLOW_MS: 60_000, SHUTDOWN_TIMEOUT_MS: 300 });
  const url = await listeningUrl(service);

  const inFlight = fetch(`${url}/slow`).catch((error: unknown) => error);
  await service.waitForLine((l) => l.msg === 'incoming request');
  service.child.kill('SIGINT');

  expect(await service.exitCode).toBe(1);
  expect(service.lines.find((l) => l.msg === 'close did not finish in time, exiting')).toMatchObject({
    level: 50,
    timeoutMs: 300,
  });
  expect(await inFlight).toBeInstanceOf(Error);
});
