import { type Static, Type } from '@sinclair/typebox';

/** Roles inside one tenant, strongest first. */
export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = Type.Union(ROLES.map((role) => Type.Literal(role)));

/** Short-lived on purpose: a signed-out or demoted user keeps at most this long. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** Every tenant's tokens carry the same issuer; the audience is what binds a token to its tenant. */
export const TOKEN_ISSUER = 'tenantry-auth';

export function tokenAudience(tenant: string): string {
  return `tenantry:${tenant}`;
}

/** What an access token says about its bearer, once verified. */
export const AccessClaimsSchema = Type.Object({
  /** The user's id. */
  sub: Type.String({ format: 'uuid' }),
  tenant: Type.String(),
  role: RoleSchema,
  email: Type.String(),
  emailVerified: Type.Boolean(),
  /** The session (refresh token family) the token was issued in; signout ends it. */
  sid: Type.String({ format: 'uuid' }),
});
export type AccessClaims = Static<typeof AccessClaimsSchema>;

/** True when `role` is at least `minimum` (owner > admin > member). */
export function hasRole(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(minimum);
}
