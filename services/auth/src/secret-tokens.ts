import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets handed to a client (refresh, verification and reset tokens): 256 random bits,
 * base64url. Only their SHA-256 is stored: a database reader cannot use them, and with this much
 * entropy a fast hash is as good as a slow one.
 */
export function newSecretToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashSecretToken(token) };
}

export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
