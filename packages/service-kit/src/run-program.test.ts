import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./test-fixtures/tiny-program.ts', import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs the fixture with `env` (and nothing of this process's environment but PATH). */
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  if (child.stdout === null) throw new Error('expected a stdout pipe');
  createInterface({ input: child.stdout }).on('line', (text) => {
    lines.push(JSON.parse(text) as Record<string, unknown>);
    for (const waiter of [...waiters]) waiter();
  });
  const exitCode = once(child, 'exit').then(([code]) => code as number | null);
  const waitFor = (msg: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (lines.some((l) => l.msg === msg)) resolve();
      };
      waiters.push(check);
      check();
    });
  return { child, lines, exitCode, waitFor };
}

test('invalid configuration: exits 2 with one line naming every invalid variable', async () => {
  const program = run({ PORT: 'eighty', WORKERS: '99', START: 'ok' });
  expect(await program.exitCode).toBe(2);
  expect(program.lines).toHaveLength(1);
  expect(program.lines[0]).toMatchObject({
    level: 60,
    service: 'tiny',
    issues: [
      'PORT must be an integer from 1 to 65535, got "eighty"',
      'WORKERS must be an integer from 1 to 8, got "99"',
    ],
  });
});

test('a failure to start is logged once, with its cause, and exits 1', async () => {
  const program = run({ START: 'fail' });
  expect(await program.exitCode).toBe(1);
  const mentioning = program.lines.filter((l) => JSON.stringify(l).includes('refused the connection'));
  expect(mentioning).toHaveLength(1);
  expect(mentioning[0]).toMatchObject({ level: 60, msg: expect.stringContaining('tiny could not start') });
});

test('SIGTERM closes the program and exits 0', async () => {
  const program = run({});
  await program.waitFor('started');
  program.child.kill('SIGTERM');
  expect(await program.exitCode).toBe(0);
  expect(program.lines.map((l) => l.msg)).toEqual([
    'started',
    'closing',
    'program closed',
    'closed, exiting',
  ]);
});
