import { ERROR_CODES, HttpError } from './http-errors.ts';

/**
 * A keyset-paginated list's cursor: the (created_at, id) of the last row of a page, the list's sort
 * key, so the next page starts strictly after it whatever was inserted or deleted meanwhile. Opaque to
 * clients (base64url of JSON) so its form can change; decoding checks it completely, because its
 * values go into the next query.
 */
export interface ListPosition {
  createdAt: Date;
  id: string;
}

const ISO_MILLISECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

function invalidCursor(): HttpError {
  return new HttpError(
    400,
    ERROR_CODES.VALIDATION_FAILED,
    '/query/cursor is not a cursor this API returned; start again without one',
    { field: '/query/cursor' },
  );
}

/** The position a cursor of encodeCursor's stands for; a 400 naming /query/cursor for anything else. */
export function decodeCursor(cursor: string): ListPosition {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw invalidCursor();
  const [createdAt, id] = decoded as unknown[];
  if (typeof createdAt !== 'string' || typeof id !== 'string') throw invalidCursor();
  if (!ISO_MILLISECONDS.test(createdAt) || !UUID.test(id)) throw invalidCursor();
  const date = new Date(createdAt);
  // The round trip rejects what the pattern lets through but the calendar does not (2024-02-30).
  if (Number.isNaN(date.getTime()) || date.toISOString() !== createdAt) throw invalidCursor();
  return { createdAt: date, id };
}
