/** Codes of the error body; clients branch on these, never on messages. Services may add their own. */
export const ERROR_CODES = {
  BAD_REQUEST: 'BAD_REQUEST',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  INTERNAL: 'INTERNAL',
} as const;

/**
 * An error meant for the client: its status, code, message and field are rendered as they are by the
 * error handler, so the message must be safe to show.
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  /** JSON pointer to the input at fault, e.g. `/body/email`. */
  readonly field: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    extra: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.field = extra.field;
    this.headers = extra.headers ?? {};
  }
}

/** The errors handlers throw; the error handler turns them into the standard body. */
export const httpErrors = {
  badRequest: (message: string, field?: string) =>
    new HttpError(400, ERROR_CODES.BAD_REQUEST, message, field === undefined ? {} : { field }),
  unauthorized: (message = 'authentication required') =>
    new HttpError(401, ERROR_CODES.UNAUTHORIZED, message),
  forbidden: (message = 'forbidden') => new HttpError(403, ERROR_CODES.FORBIDDEN, message),
  notFound: (message = 'not found') => new HttpError(404, ERROR_CODES.NOT_FOUND, message),
  conflict: (message: string) => new HttpError(409, ERROR_CODES.CONFLICT, message),
  tooManyRequests: (retryAfterSeconds: number) => {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    return new HttpError(429, ERROR_CODES.TOO_MANY_REQUESTS, `too many requests, retry in ${seconds} s`, {
      headers: { 'retry-after': String(seconds) },
    });
  },
};
