import { describe, expect, test } from 'vitest';
import { childFor, createLogger } from './create-logger.ts';

/** A destination that keeps each JSON line pino writes, parsed. */
function captureLines() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => lines.push(JSON.parse(line)) } };
}

describe('createLogger', () => {
  test('every line carries the service name and an ISO timestamp', () => {
    const { lines, destination } = captureLines();
    createLogger({ service: 'auth', destination }).info({ userId: 'u1' }, 'signed in');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'auth', level: 30, userId: 'u1', msg: 'signed in' });
    expect(lines[0]?.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  test('honours the level', () => {
    const { lines, destination } = captureLines();
    const logger = createLogger({ service: 'auth', level: 'warn', destination });
    logger.info('dropped');
    logger.warn('kept');
    expect(lines.map((line) => line.msg)).toEqual(['kept']);
  });

  test('redacts credentials at the top level, one and two levels down, and in headers', () => {
    const { lines, destination } = captureLines();
    createLogger({ service: 'auth', destination }).info(
      {
        password: 'hunter2',
        token: 'tok',
        body: { email: 'a@b.test', password: 'hunter2', refreshToken: 'rt' },
        user: { credentials: { password: 'hunter2', apiKey: 'k' } },
        req: {
          method: 'GET',
          headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'x-api-key': 'k', accept: '*/*' },
        },
        res: { headers: { 'set-cookie': 'sid=2' } },
        headers: { authorization: 'Basic xyz' },
      },
      'request',
    );
    const line = JSON.stringify(lines[0]);
    for (const secret of ['hunter2', 'tok"', 'rt"', 'Bearer abc', 'sid=1', 'sid=2', 'Basic xyz', '"k"']) {
      expect(line).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      password: '[Redacted]',
      token: '[Redacted]',
      body: { email: 'a@b.test', password: '[Redacted]', refreshToken: '[Redacted]' },
      user: { credentials: { password: '[Redacted]', apiKey: '[Redacted]' } },
      req: {
        method: 'GET',
        headers: {
          authorization: '[Redacted]',
          cookie: '[Redacted]',
          'x-api-key': '[Redacted]',
          accept: '*/*',
        },
      },
      res: { headers: { 'set-cookie': '[Redacted]' } },
      headers: { authorization: '[Redacted]' },
    });
  });

  test('rejects a missing service name', () => {
    expect(() => createLogger({ service: '' })).toThrow('createLogger: service must be a non-empty string');
  });
});

describe('childFor', () => {
  test('binds request id and tenant to every line of the child, still redacting', () => {
    const { lines, destination } = captureLines();
    const child = childFor(createLogger({ service: 'users', destination }), {
      requestId: 'r-1',
      tenant: 'acme',
    });
    child.info({ password: 'x' }, 'profile updated');
    expect(lines[0]).toMatchObject({
      service: 'users',
      requestId: 'r-1',
      tenant: 'acme',
      password: '[Redacted]',
      msg: 'profile updated',
    });
  });

  test('leaves out what is not known yet', () => {
    const { lines, destination } = captureLines();
    childFor(createLogger({ service: 'users', destination }), { requestId: 'r-2' }).info('before tenant');
    expect(lines[0]).toMatchObject({ requestId: 'r-2' });
    expect(lines[0]).not.toHaveProperty('tenant');
  });
});
