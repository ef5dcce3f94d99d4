import { createPublicKey, createSign, createVerify } from 'node:crypto';
import { expect, test } from 'vitest';
import { generateSigningKey, jwkThumbprint } from './signing-key.ts';

test('a generated key signs ES256 and only its own public key verifies', () => {
  const a = generateSigningKey();
  const b = generateSigningKey();
  expect(a.keyId).not.toBe(b.keyId);
  expect(a.publicJwk).not.toHaveProperty('d');
  const signature = createSign('SHA256')
    .update('payload')
    .sign({ key: a.privateJwk, format: 'jwk', dsaEncoding: 'ieee-p1363' });
  const verify = (jwk: typeof a.publicJwk) =>
    createVerify('SHA256')
      .update('payload')
      .verify({ key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, signature);
  expect(verify(a.publicJwk)).toBe(true);
  expect(verify(b.publicJwk)).toBe(false);
});

test('the key id is the RFC 7638 thumbprint', () => {
  // The example key of RFC 7638 is RSA; this checks the EC member order (crv, kty, x, y) is used.
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  };
  expect(jwkThumbprint(jwk)).toBe(jwkThumbprint({ ...jwk, alg: 'ES256', kid: 'ignored' } as typeof jwk));
  expect(jwkThumbprint(jwk)).toMatch(/^[A-Za-z0-9_-]{43}$/);
});
