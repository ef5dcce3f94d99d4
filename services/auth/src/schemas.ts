import { Type } from '@sinclair/typebox';
import { RoleSchema } from '@tenantry/identity';

/** Request and response shapes of the auth API (OpenAPI is generated from these). */

export const Email = Type.String({
  format: 'email',
  minLength: 3,
  maxLength: 254,
  description: 'Compared case-insensitively',
});
/** NIST 800-63B: at least 8 characters, long passphrases allowed; no composition rules. */
export const Password = Type.String({ minLength: 8, maxLength: 256 });
/** A token from an email link or a refresh token: 256 bits, base64url. */
export const OpaqueToken = Type.String({ minLength: 20, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });

export const Credentials = Type.Object({ email: Email, password: Password }, { additionalProperties: false });
export const EmailOnly = Type.Object({ email: Email }, { additionalProperties: false });
export const RefreshBody = Type.Object({ refreshToken: OpaqueToken }, { additionalProperties: false });
export const SignoutBody = Type.Object(
  { refreshToken: Type.Optional(OpaqueToken) },
  { additionalProperties: false },
);
/** A one-time token with the password it goes with (reset, verification, invitation). */
export const ResetBody = Type.Object(
  { token: OpaqueToken, password: Password },
  { additionalProperties: false },
);
export const RoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });
export const UserIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Account = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: RoleSchema,
  emailVerified: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const Tokens = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  /** Seconds until the access token expires. */
  expiresIn: Type.Integer(),
  /** Single use: each refresh returns the next one. */
  refreshToken: Type.String(),
  user: Account,
});

/** What every email-taking endpoint answers, whether or not an account exists. */
export const Accepted = Type.Object({
  status: Type.Literal('accepted'),
  message: Type.String(),
});

export const Verified = Type.Object({ status: Type.Literal('verified'), role: RoleSchema });
export const RoleChanged = Type.Object({ id: Type.String({ format: 'uuid' }), role: RoleSchema });

export const Jwks = Type.Object({
  keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String() }, { additionalProperties: true })),
});
