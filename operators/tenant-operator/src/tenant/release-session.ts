import type { Sql } from 'postgres';

/**
 * Releases a private session without waiting for it. postgres.js `end()` never resolves once the
 * server closed the connection in the middle of a query (an outage), and `end({ timeout })` can then
 * throw from inside the library as it destroys the socket. A healthy session terminates at once, which
 * also releases its session-level advisory locks; a dead one has nothing left to release.
 */
export function releaseSession(session: Sql): void {
  session.end().catch(() => {});
}
