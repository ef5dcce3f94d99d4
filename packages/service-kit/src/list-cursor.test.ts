import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { decodeCursor, encodeCursor } from './list-cursor.ts';

function fieldOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return {
      status: (error as { statusCode?: number }).statusCode,
      field: (error as { field?: string }).field,
    };
  }
  throw new Error('expected the cursor to be refused');
}

const refused = { status: 400, field: '/query/cursor' };
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('list cursor', () => {
  test('decodes what it encoded, to the millisecond', () => {
    const position = { createdAt: new Date('2025-03-04T05:06:07.089Z'), id: randomUUID() };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  test.each([
    ['not base64url', 'abc$def'],
    ['not JSON', Buffer.from('{oops').toString('base64url')],
    ['an object', encode({ createdAt: '2025-03-04T05:06:07.089Z', id: randomUUID() })],
    ['three elements', encode(['2025-03-04T05:06:07.089Z', randomUUID(), 1])],
    ['a date without milliseconds', encode(['2025-03-04T05:06:07Z', randomUUID()])],
    ['an impossible date', encode(['2025-02-30T05:06:07.089Z', randomUUID()])],
    ['an id that is no uuid', encode(['2025-03-04T05:06:07.089Z', "x' or 1=1 --"])],
  ])('refuses %s with a 400 naming /query/cursor', (_, cursor) => {
    expect(fieldOf(() => decodeCursor(cursor))).toEqual(refused);
  });
});
