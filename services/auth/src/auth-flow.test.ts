import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AuthHarness, EVENTUALLY, startAuthHarness, until } from './test-support.ts';

/** The whole auth API against a real operator-provisioned tenant. */
let h: AuthHarness;
let acme: string;
let globex: string;

beforeAll(async () => {
  h = await startAuthHarness({ LOCKOUT_ACCOUNT_FAILURES: '3', LOCKOUT_ADDRESS_FAILURES: '6' });
  [acme, globex] = await Promise.all([
    h.tenant({ admin: { email: 'Boss@Acme.test' } }, 'acme'),
    h.tenant({}, 'globex'),
  ]);
});
afterAll(() => h?.stop());

let counter = 0;
const uniqueEmail = (who: string) =>
  `${who}-${Date.now().toString(36)}-${(counter++).toString(36)}@example.test`;
const PASSWORD = 'correct horse battery';

async function signup(tenant: string, email: string, password = PASSWORD) {
  const response = await h.request(tenant, 'POST', '/api/auth/signup', { body: { email, password } });
  expect(response.statusCode).toBe(202);
  return response;
}

async function signin(tenant: string, email: string, password = PASSWORD, ip?: string) {
  return h.request(tenant, 'POST', '/api/auth/signin', { body: { email, password }, ...(ip ? { ip } : {}) });
}

async function session(tenant: string, email: string) {
  const response = await signin(tenant, email);
  expect(response.statusCode).toBe(200);
  return response.json() as { accessToken: string; refreshToken: string; user: { id: string; role: string } };
}

async function verify(tenant: string, email: string, password = PASSWORD) {
  const event = await h.lastEvent(tenant, 'user.email_verification_requested', email);
  expect(event?.token).toBeTypeOf('string');
  return h.request(tenant, 'POST', '/api/auth/verify-email', { body: { token: event?.token, password } });
}

/** Signs up and proves the mailbox: an account that can sign in. */
async function verifiedSignup(tenant: string, email: string, password = PASSWORD) {
  await signup(tenant, email, password);
  expect((await verify(tenant, email, password)).statusCode).toBe(200);
}

/** The token of the newest email of `type` to `email` other than `before` (sent after the 202). */
async function emailed(tenant: string, type: string, email: string, before?: string) {
  let token: string | undefined;
  await until(`${type} to ${email}`, async () => {
    token = (await h.lastEvent(tenant, type, email))?.token;
    return token !== undefined && token !== before;
  });
  return token;
}

describe('signup, verification, signin, me', () => {
  test('the whole flow, with the events it publishes', async () => {
    const email = uniqueEmail('ada');
    const response = await signup(globex, email.toUpperCase());
    expect(response.json()).toEqual({ status: 'accepted', message: expect.any(String) });
    expect(await h.lastEvent(globex, 'user.signed_up', email)).toMatchObject({ email, role: 'member' });

    // No sign-in before the mailbox is proven (said only to whoever knows the password).
    const early = await signin(globex, email);
    expect([early.statusCode, early.json().error.code]).toEqual([403, 'EMAIL_NOT_VERIFIED']);

    const verified = await verify(globex, email);
    expect(verified.json()).toEqual({ status: 'verified', role: 'member' });
    // Tokens are single use.
    const event = await h.lastEvent(globex, 'user.email_verification_requested', email);
    const again = await h.request(globex, 'POST', '/api/auth/verify-email', {
      body: { token: event?.token, password: PASSWORD },
    });
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toMatchObject({ code: 'VERIFICATION_TOKEN_INVALID', field: '/body/token' });

    const tokens = await session(globex, email);
    expect(tokens).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { email, emailVerified: true },
    });
    const me = await h.request(globex, 'GET', '/api/auth/me', { token: tokens.accessToken });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: tokens.user.id, email, emailVerified: true });

    // Published to Kafka by the relay, not only written to the outbox.
    await expect
      .poll(async () => {
        const [row] = await h.runtime.databases.sql(globex)`
          select count(*)::int as n from outbox where payload->>'email' = ${email} and published_at is null`;
        return row?.n;
      }, EVENTUALLY)
      .toBe(0);
  });

  test('a taken email gets the same answer and no second account', async () => {
    const email = uniqueEmail('dup');
    const first = await signup(globex, email);
    const second = await signup(globex, email, 'another long password');
    expect(second.json()).toEqual(first.json());
    const [row] = await h.runtime.databases.sql(globex)`
      select count(*)::int as n from outbox where type = 'user.signed_up' and payload->>'email' = ${email}`;
    expect(row?.n).toBe(1);
    expect((await signin(globex, email, 'another long password')).statusCode).toBe(401);
  });

  test('bad input names the field', async () => {
    const response = await h.request(globex, 'POST', '/api/auth/signup', {
      body: { email: 'not-an-email', password: PASSWORD },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: '/body/email' });
    const short = await h.request(globex, 'POST', '/api/auth/signup', {
      body: { email: uniqueEmail('x'), password: 'short' },
    });
    expect(short.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: '/body/password' });
  });

  test('requests without a tenant, or for an unknown one, are refused', async () => {
    const none = await h.app.inject({
      method: 'POST',
      url: '/api/auth/forgot-password',
      payload: { email: 'a@b.test' },
    });
    expect(none.statusCode).toBe(400);
    expect(none.json().error).toMatchObject({ code: 'TENANT_REQUIRED', field: '/headers/x-tenantry-tenant' });
    const unknown = await h.request('no-such-tenant', 'POST', '/api/auth/forgot-password', {
      body: { email: 'a@b.test' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('TENANT_NOT_FOUND');
  });
});

describe('no enumeration', () => {
  test('forgot-password and resend-verification answer the same for unknown and known emails', async () => {
    const known = uniqueEmail('known');
    await signup(globex, known);
    for (const path of ['/api/auth/forgot-password', '/api/auth/resend-verification']) {
      const a = await h.request(globex, 'POST', path, { body: { email: known } });
      const b = await h.request(globex, 'POST', path, { body: { email: uniqueEmail('unknown') } });
      expect([a.statusCode, a.json()]).toEqual([b.statusCode, b.json()]);
    }
    const failedKnown = await signin(globex, known, 'wrong password!', '10.1.0.1');
    const failedUnknown = await signin(globex, uniqueEmail('nobody'), 'wrong password!', '10.1.0.2');
    expect([failedKnown.statusCode, failedKnown.json().error.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect([failedUnknown.statusCode, failedUnknown.json().error.code]).toEqual([401, 'INVALID_CREDENTIALS']);
  });
});

describe('lockout', () => {
  test('an account locks after repeated failures, even for the right password, and only that account', async () => {
    const email = uniqueEmail('locked');
    await signup(globex, email);
    for (let i = 0; i < 3; i++)
      expect((await signin(globex, email, 'wrong password!', `10.2.0.${i}`)).statusCode).toBe(401);
    const locked = await signin(globex, email, PASSWORD, '10.2.1.1');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('SIGNIN_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);

    const other = uniqueEmail('free');
    await verifiedSignup(globex, other);
    expect((await signin(globex, other, PASSWORD, '10.2.1.1')).statusCode).toBe(200);
  });

  test('a client address locks after failures across many accounts, known or not', async () => {
    const ip = '10.3.0.1';
    for (let i = 0; i < 6; i++)
      expect((await signin(globex, uniqueEmail('spray'), 'wrong password!', ip)).statusCode).toBe(401);
    const email = uniqueEmail('victim');
    await verifiedSignup(globex, email);
    expect((await signin(globex, email, PASSWORD, ip)).statusCode).toBe(429);
    expect((await signin(globex, email, PASSWORD, '10.3.0.2')).statusCode).toBe(200);
  });

  test('unknown emails lock like known ones', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 3; i++) await signin(globex, email, 'wrong password!', `10.4.0.${i}`);
    expect((await signin(globex, email, 'wrong password!', '10.4.1.1')).statusCode).toBe(429);
  });
});

describe('sessions', () => {
  test('refresh rotates; a reused refresh token revokes the whole family', async () => {
    const email = uniqueEmail('rot');
    await verifiedSignup(globex, email);
    const first = await session(globex, email);
    const rotated = await h.request(globex, 'POST', '/api/auth/refresh', {
      body: { refreshToken: first.refreshToken },
    });
    expect(rotated.statusCode).toBe(200);
    const second = rotated.json();
    expect(second.refreshToken).not.toBe(first.refreshToken);

    const reused = await h.request(globex, 'POST', '/api/auth/refresh', {
      body: { refreshToken: first.refreshToken },
    });
    expect(reused.statusCode).toBe(401);
    expect(reused.json().error).toMatchObject({ code: 'REFRESH_TOKEN_REUSED', field: '/body/refreshToken' });
    // The thief's (or the user's) newer token died with the family, and the session with it.
    const after = await h.request(globex, 'POST', '/api/auth/refresh', {
      body: { refreshToken: second.refreshToken },
    });
    expect(after.json().error.code).toBe('REFRESH_TOKEN_INVALID');
    const me = await h.request(globex, 'GET', '/api/auth/me', { token: second.accessToken });
    expect(me.json().error.code).toBe('SESSION_REVOKED');
    // Other sessions of the user are untouched.
    const other = await session(globex, email);
    expect((await h.request(globex, 'GET', '/api/auth/me', { token: other.accessToken })).statusCode).toBe(
      200,
    );
  });

  test('signout ends the session', async () => {
    const email = uniqueEmail('out');
    await verifiedSignup(globex, email);
    const tokens = await session(globex, email);
    const out = await h.request(globex, 'POST', '/api/auth/signout', { token: tokens.accessToken, body: {} });
    expect(out.statusCode).toBe(204);
    expect(
      (await h.request(globex, 'GET', '/api/auth/me', { token: tokens.accessToken })).json().error.code,
    ).toBe('SESSION_REVOKED');
    const refresh = await h.request(globex, 'POST', '/api/auth/refresh', {
      body: { refreshToken: tokens.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    const anonymous = await h.request(globex, 'POST', '/api/auth/signout', { body: {} });
    expect(anonymous.json().error.code).toBe('TOKEN_MISSING');
  });

  test('password reset: single-use token, new password works, old sessions end', async () => {
    const email = uniqueEmail('reset');
    await verifiedSignup(globex, email);
    const before = await session(globex, email);
    expect(
      (await h.request(globex, 'POST', '/api/auth/forgot-password', { body: { email } })).statusCode,
    ).toBe(202);
    const token = await emailed(globex, 'user.password_reset_requested', email);
    const body = { token, password: 'a brand new passphrase' };
    expect((await h.request(globex, 'POST', '/api/auth/reset-password', { body })).statusCode).toBe(204);
    const replay = await h.request(globex, 'POST', '/api/auth/reset-password', { body });
    expect(replay.json().error).toMatchObject({ code: 'RESET_TOKEN_INVALID', field: '/body/token' });

    expect((await signin(globex, email)).statusCode).toBe(401);
    expect((await signin(globex, email, 'a brand new passphrase')).statusCode).toBe(200);
    expect(
      (await h.request(globex, 'GET', '/api/auth/me', { token: before.accessToken })).json().error.code,
    ).toBe('SESSION_REVOKED');
  });

  test('an expired reset token is refused', async () => {
    const email = uniqueEmail('late');
    await signup(globex, email);
    await h.request(globex, 'POST', '/api/auth/forgot-password', { body: { email } });
    const token = await emailed(globex, 'user.password_reset_requested', email);
    await h.runtime.databases.sql(globex)`
      update auth_one_time_tokens set expires_at = now() - interval '1 second'
      where purpose = 'reset_password' and used_at is null`;
    const response = await h.request(globex, 'POST', '/api/auth/reset-password', {
      body: { token, password: 'whatever passphrase' },
    });
    expect(response.json().error.code).toBe('RESET_TOKEN_INVALID');
  });
});

describe('tenancy and roles', () => {
  test("tenant A's token is refused at tenant B", async () => {
    const email = uniqueEmail('cross');
    await verifiedSignup(acme, email);
    const tokens = await session(acme, email);
    const atGlobex = await h.request(globex, 'GET', '/api/auth/me', { token: tokens.accessToken });
    expect(atGlobex.statusCode).toBe(401);
    expect(atGlobex.json().error.code).toBe('TOKEN_INVALID');
    // The same account does not exist at B: the tenants' users are separate.
    expect((await signin(globex, email)).statusCode).toBe(401);
  });

  test('spec.admin is invited, sets the password with the invitation and becomes owner', async () => {
    // With spec.admin set, an account proven by verification stays a member: only the invitation promotes.
    const early = uniqueEmail('early');
    await signup(acme, early);
    expect((await verify(acme, early)).json()).toEqual({ status: 'verified', role: 'member' });
    // The admin's account exists before anyone signs up for it, without a password: nobody signs in.
    const invitation = await h.invitation(acme, 'boss@acme.test');
    expect((await signin(acme, 'boss@acme.test', 'any password at all')).statusCode).toBe(401);
    const password = 'the real admin passphrase';
    const accepted = await h.request(acme, 'POST', '/api/auth/accept-invitation', {
      body: { token: invitation, password },
    });
    expect(accepted.json()).toEqual({ status: 'verified', role: 'owner' });
    const real = await signin(acme, 'Boss@Acme.test', password);
    expect(real.json().user).toMatchObject({ role: 'owner', emailVerified: true });
    const bad = await h.request(acme, 'POST', '/api/auth/accept-invitation', {
      body: { token: 'x'.repeat(43), password },
    });
    expect(bad.json().error).toMatchObject({ code: 'INVITATION_TOKEN_INVALID', field: '/body/token' });
  });

  test('roles: admins manage members, only owners manage owners, the last owner stays', async () => {
    const ownerEmail = uniqueEmail('owner');
    const tenant = await h.tenant({ admin: { email: ownerEmail } }, 'roles');
    const invitation = await h.invitation(tenant, ownerEmail);
    await h.request(tenant, 'POST', '/api/auth/accept-invitation', {
      body: { token: invitation, password: PASSWORD },
    });
    const memberEmail = uniqueEmail('member');
    await signup(tenant, memberEmail);
    expect((await verify(tenant, memberEmail)).json().role).toBe('member');
    const owner = await session(tenant, ownerEmail);
    const member = await session(tenant, memberEmail);

    const setRole = (token: string, id: string, role: string) =>
      h.request(tenant, 'PUT', `/api/auth/users/${id}/role`, { token, body: { role } });
    const denied = await setRole(member.accessToken, owner.user.id, 'member');
    expect([denied.statusCode, denied.json().error.code]).toEqual([403, 'ROLE_REQUIRED']);
    expect((await setRole(owner.accessToken, member.user.id, 'admin')).json()).toEqual({
      id: member.user.id,
      role: 'admin',
    });
    const admin = await session(tenant, memberEmail);
    expect(admin.user.role).toBe('admin');
    const adminOnOwner = await setRole(admin.accessToken, owner.user.id, 'member');
    expect(adminOnOwner.statusCode).toBe(403);
    const lastOwner = await setRole(owner.accessToken, owner.user.id, 'admin');
    expect([lastOwner.statusCode, lastOwner.json().error.code]).toEqual([409, 'LAST_OWNER']);
    const unknown = await setRole(owner.accessToken, '00000000-0000-4000-8000-000000000000', 'admin');
    expect(unknown.json().error.code).toBe('USER_NOT_FOUND');
    const malformed = await setRole(owner.accessToken, 'nope', 'admin');
    expect(malformed.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: '/params/id' });
    expect(await h.lastEvent(tenant, 'user.signed_up', memberEmail)).toBeDefined();
  });

  test('the JWKS endpoint serves the tenant’s own public key', async () => {
    const a = (await h.request(acme, 'GET', '/api/auth/.well-known/jwks.json')).json();
    const b = (await h.request(globex, 'GET', '/api/auth/.well-known/jwks.json')).json();
    expect(a.keys).toHaveLength(1);
    expect(a.keys[0].kid).not.toBe(b.keys[0].kid);
    expect(a.keys[0]).not.toHaveProperty('d');
  });

  test('the OpenAPI document lists every route', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/api/auth/signup',
      '/api/auth/signin',
      '/api/auth/refresh',
      '/api/auth/signout',
      '/api/auth/me',
      '/api/auth/verify-email',
      '/api/auth/accept-invitation',
      '/api/auth/resend-verification',
      '/api/auth/forgot-password',
      '/api/auth/reset-password',
      '/api/auth/users/{id}/role',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});
