/** Keys whose values are credentials wherever they appear in a logged object. */
const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'secret',
  'clientSecret',
  'apiKey',
  'authorization',
  'cookie',
  // Connection URLs that embed a password: the operator's superuser URL, a tenant owner's URL.
  'postgresAdminUrl',
  'adminUrl',
  'ownerUrl',
  'connectionString',
];

/**
 * Credential headers whose names a dotted path cannot spell (`authorization` and `cookie` are caught
 * as secret keys), in the shapes a request or response gets logged with.
 */
const SECRET_HEADERS = ['"set-cookie"', '"x-api-key"', '"proxy-authorization"'];
const HEADER_CONTAINERS = ['headers', 'req.headers', 'res.headers', 'request.headers', 'response.headers'];

/**
 * pino redaction paths. A `*` matches exactly one level, so secret keys are listed down to the depth
 * services log at (`body.user.password`); a wider net would cost on every line.
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  ...HEADER_CONTAINERS.flatMap((container) => SECRET_HEADERS.map((header) => `${container}[${header}]`)),
];
