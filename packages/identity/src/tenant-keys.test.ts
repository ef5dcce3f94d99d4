import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { importJWK, SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { type AccessClaims, tokenAudience } from './claims.ts';
import { TenantKeys } from './tenant-keys.ts';
import { operatorKey } from './test-support.ts';

const acmeKey = operatorKey();
const keys = TenantKeys.fromKeys({ acme: acmeKey, globex: operatorKey() });

function claims(tenant: string, extra: Partial<AccessClaims> = {}): AccessClaims {
  return {
    sub: randomUUID(),
    tenant,
    role: 'member',
    email: 'ada@example.test',
    emailVerified: false,
    sid: randomUUID(),
    ...extra,
  };
}

describe('TenantKeys', () => {
  test('a token verifies at its own tenant with the claims it was signed with', async () => {
    const issued = claims('acme', { role: 'admin' });
    const token = await keys.sign(issued);
    await expect(keys.verify('acme', token)).resolves.toEqual(issued);
  });

  test("tenant A's token is refused at tenant B", async () => {
    const token = await keys.sign(claims('acme'));
    await expect(keys.verify('globex', token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  test("a token signed with A's key but claiming B (audience and tenant) is refused at B", async () => {
    const forged = await new SignJWT({ ...claims('globex') })
      .setProtectedHeader({ alg: 'ES256', kid: acmeKey.keyId, typ: 'at+jwt' })
      .setIssuer('tenantry-auth')
      .setAudience(tokenAudience('globex'))
      .setSubject(randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await importJWK(acmeKey.privateJwk, 'ES256'));
    await expect(keys.verify('globex', forged)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  test('an expired token is refused as expired', async () => {
    const token = await keys.sign(claims('acme'), -60);
    await expect(keys.verify('acme', token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  test('a verified token is remembered only until it expires (plus the tolerated skew)', async () => {
    const token = await keys.sign(claims('acme'), 1);
    await expect(keys.verify('acme', token)).resolves.toMatchObject({ tenant: 'acme' });
    await expect(keys.verify('acme', token)).resolves.toMatchObject({ tenant: 'acme' });
    await expect(keys.verify('globex', token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await sleep(7_000);
    await expect(keys.verify('acme', token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  test('a tampered payload is refused', async () => {
    const token = await keys.sign(claims('acme'));
    const [header, payload, signature] = token.split('.');
    const altered = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    altered.role = 'owner';
    const tampered = [header, Buffer.from(JSON.stringify(altered)).toString('base64url'), signature].join(
      '.',
    );
    await expect(keys.verify('acme', tampered)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  test('an unsigned token (alg none) is refused', async () => {
    const body = Buffer.from(JSON.stringify({ ...claims('acme'), aud: tokenAudience('acme') })).toString(
      'base64url',
    );
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`;
    await expect(keys.verify('acme', unsigned)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  test('a tenant without a key can neither sign nor verify', async () => {
    await expect(keys.sign(claims('initech'))).rejects.toThrow('no signing key for tenant initech');
    const token = await keys.sign(claims('acme'));
    await expect(keys.verify('initech', token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  test('the JWKS holds only public members', () => {
    const [key] = keys.jwks('acme')?.keys ?? [];
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', kid: acmeKey.keyId });
    expect(key).not.toHaveProperty('d');
  });
});
