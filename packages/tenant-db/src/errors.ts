/**
 * No credentials Secret exists for this tenant: it was never provisioned, or it was deleted (between
 * the identity check and the query, a request answered as if it had come a moment later: 404).
 */
export class UnknownTenantError extends Error {
  readonly code = 'TENANT_NOT_FOUND';
  /** Services answer 404 with this code (service-kit's error handler reads both). */
  readonly statusCode = 404;
  readonly tenant: string;
  /** Where its Secret was looked for, for the log; the message, which clients see, does not say. */
  readonly namespace: string;

  constructor(tenant: string, namespace: string) {
    super(`no such tenant "${tenant}"`);
    this.name = 'UnknownTenantError';
    this.tenant = tenant;
    this.namespace = namespace;
  }
}

/**
 * The tenant's database could not be reached or refused the session (down, wrong password while a
 * rotation settles, role suspended, connection limit reached). A service answers 503, not 500.
 * The driver's error stays as `cause`, with its SQLSTATE or network code.
 */
export class TenantDatabaseUnavailableError extends Error {
  readonly code = 'TENANT_DATABASE_UNAVAILABLE';
  /** Services answer 503 with this code (service-kit's error handler reads both). */
  readonly statusCode = 503;
  readonly tenant: string;

  constructor(tenant: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`while connecting to the database of tenant ${tenant}: ${reason}`, { cause });
    this.name = 'TenantDatabaseUnavailableError';
    this.tenant = tenant;
  }
}

/** postgres.js and network codes that mean no working session, as opposed to a failed query. */
const CONNECTION_CODES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  // SQLSTATEs: database missing, too many connections, session ended by the server or not yet allowed
  '3D000',
  '53300',
  '57P01',
  '57P02',
  '57P03',
]);
/** SQLSTATE classes 08 (connection exception) and 28 (invalid authorization: password, NOLOGIN). */
const CONNECTION_CLASSES = ['08', '28'];

export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return CONNECTION_CODES.has(code) || CONNECTION_CLASSES.some((prefix) => code.startsWith(prefix));
}

/**
 * Gives a connection failure the tenant's context. Query errors (constraint violations, syntax,
 * permissions) pass through unchanged, so callers can still test `instanceof PostgresError` and `code`.
 */
export function withTenantContext(tenant: string, error: unknown): unknown {
  return isConnectionFailure(error) ? new TenantDatabaseUnavailableError(tenant, error) : error;
}
