import { errors, jwtVerify, SignJWT } from 'jose';
import { type Category, isCategory, LOCKED_CATEGORIES } from './categories.ts';

/**
 * One-click unsubscribe tokens (RFC 8058): an HS256 JWT naming the tenant, the address and the
 * category, expiring after the configured days. The link works without signing in, so the token is
 * the whole authority: it is bound to its tenant (checked against the request's) and to one category.
 */
const AUDIENCE = 'tenantry-notifications-unsubscribe';
const ALGORITHM = 'HS256';

export interface UnsubscribeClaims {
  tenant: string;
  email: string;
  category: Category;
}

export interface UnsubscribeTokens {
  sign(claims: UnsubscribeClaims): Promise<string>;
  /** The claims, or undefined when the token is forged, expired, or for a locked category. */
  verify(token: string): Promise<UnsubscribeClaims | undefined>;
}

export function unsubscribeTokens(secret: string, ttlDays: number): UnsubscribeTokens {
  const key = new TextEncoder().encode(secret);
  return {
    sign: ({ tenant, email, category }) =>
      new SignJWT({ tenant, category })
        .setProtectedHeader({ alg: ALGORITHM })
        .setSubject(email)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlDays}d`)
        .sign(key),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { audience: AUDIENCE, algorithms: [ALGORITHM] });
        const { tenant, category, sub } = payload;
        if (typeof tenant !== 'string' || typeof category !== 'string' || typeof sub !== 'string') return;
        if (!isCategory(category) || LOCKED_CATEGORIES.has(category)) return;
        return { tenant, email: sub, category };
      } catch (error) {
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}
