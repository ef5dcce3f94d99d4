import { describe, expect, test } from 'vitest';
import { isPublicRoute } from './public-routes.ts';

describe('isPublicRoute', () => {
  test('the sign-in family and the JWKS are public, with their method only', () => {
    expect(isPublicRoute('POST', '/api/auth/signin')).toBe(true);
    expect(isPublicRoute('POST', '/api/auth/reset-password?x=1')).toBe(true);
    expect(isPublicRoute('GET', '/api/auth/.well-known/jwks.json')).toBe(true);
    expect(isPublicRoute('HEAD', '/api/auth/.well-known/jwks.json')).toBe(true);
    expect(isPublicRoute('GET', '/api/auth/signin')).toBe(false);
    expect(isPublicRoute('GET', '/api/auth/me')).toBe(false);
  });

  test('variants of a public path are not public (they fail closed)', () => {
    for (const path of [
      '/api/auth/signin/',
      '/api/auth/%73ignin',
      '/api/auth/signin/../me',
      '/API/auth/signin',
    ]) {
      expect(isPublicRoute('POST', path), path).toBe(false);
    }
  });
});
