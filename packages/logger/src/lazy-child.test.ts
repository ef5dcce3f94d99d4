import { describe, expect, test, vi } from 'vitest';
import { createLogger } from './create-logger.ts';
import { lazyChild } from './lazy-child.ts';

function capture(level: 'info' | 'warn' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const parent = createLogger({
    service: 'gateway',
    level,
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { lines, parent, made: vi.spyOn(parent, 'child') };
}

describe('lazyChild', () => {
  test('writes the lines a pino child would, bindings merged and secrets redacted', () => {
    const { lines, parent } = capture();
    const log = lazyChild(parent, { requestId: 'r-1' }).child({ tenant: 'acme' });
    log.info({ authorization: 'Bearer x', path: '/api' }, 'proxied');
    log.error(new Error('upstream down'));
    expect(lines[0]).toMatchObject({
      service: 'gateway',
      requestId: 'r-1',
      tenant: 'acme',
      authorization: '[Redacted]',
      path: '/api',
      msg: 'proxied',
      level: 30,
    });
    expect(lines[1]).toMatchObject({ requestId: 'r-1', tenant: 'acme', level: 50, msg: 'upstream down' });
    expect(lines[1]?.err).toMatchObject({ message: 'upstream down' });
  });

  test('makes no pino child until a line passes the level, then one for all lines', () => {
    const { lines, parent, made } = capture('warn');
    const log = lazyChild(parent, { requestId: 'r-2' }).child({ tenant: 'acme' });
    log.info('below the level');
    log.debug('below the level');
    expect(made).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    log.warn('first');
    log.error('second');
    expect(made).toHaveBeenCalledTimes(1);
    expect(made).toHaveBeenCalledWith({ requestId: 'r-2', tenant: 'acme' });
    expect(lines.map((line) => line.msg)).toEqual(['first', 'second']);
  });

  test('a level set on the child applies to it alone', () => {
    const { lines, parent } = capture('info');
    const log = lazyChild(parent, { requestId: 'r-3' });
    expect(log.level).toBe('info');
    log.level = 'debug';
    log.debug('child debug');
    parent.debug('parent debug');
    expect(log.level).toBe('debug');
    expect(parent.level).toBe('info');
    expect(lines.map((line) => line.msg)).toEqual(['child debug']);
  });

  test('options make the pino child at once (a route with its own level)', () => {
    const { lines, parent, made } = capture('info');
    const log = lazyChild(parent, { requestId: 'r-4' }, { level: 'warn' });
    expect(made).toHaveBeenCalledTimes(1);
    log.info('dropped');
    log.warn('kept');
    expect(lines).toEqual([expect.objectContaining({ requestId: 'r-4', msg: 'kept' })]);
  });

  test('children of a child that has written carry both bindings', () => {
    const { lines, parent } = capture();
    const log = lazyChild(parent, { requestId: 'r-5' });
    log.info('made');
    log.child({ tenant: 'acme' }).info('nested');
    expect(lines[1]).toMatchObject({ requestId: 'r-5', tenant: 'acme', msg: 'nested' });
  });
});
