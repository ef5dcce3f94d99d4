export {
  ACCESS_TOKEN_TTL_SECONDS,
  type AccessClaims,
  AccessClaimsSchema,
  hasRole,
  ROLES,
  type Role,
  RoleSchema,
  TOKEN_ISSUER,
  tokenAudience,
} from './claims.ts';
export {
  authenticatedErrors,
  IDENTITY_ERROR_CODES,
  type RequestIdentity,
  type RequestIdentityOptions,
  requestIdentity,
  type SessionCheck,
  TENANT_HEADER,
  TenantHeaders,
} from './request-identity.ts';
export { InvalidTokenError, TenantKeys } from './tenant-keys.ts';
