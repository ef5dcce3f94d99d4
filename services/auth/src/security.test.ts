import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AuthHarness, EVENTUALLY, startAuthHarness, until } from './test-support.ts';

/**
 * The attacks of the security review (issue #12: items 1, 5, 7, 9-12), each performed against the
 * real service, operator, API server, PostgreSQL and Kafka, and each refused.
 */
let h: AuthHarness;

beforeAll(async () => {
  // The account threshold is the one under attack; the address one is kept out of the way.
  h = await startAuthHarness({ LOCKOUT_ACCOUNT_FAILURES: '5', LOCKOUT_ADDRESS_FAILURES: '1000' });
});
afterAll(() => h?.stop());

let counter = 0;
const unique = (who: string) => `${who}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
const uniqueEmail = (who: string) => `${unique(who)}@example.test`;
const PASSWORD = 'correct horse battery';

const post = (tenant: string, url: string, body: unknown, token?: string) =>
  h.request(tenant, 'POST', url, { body, ...(token ? { token } : {}) });

async function signup(tenant: string, email: string, password = PASSWORD) {
  expect((await post(tenant, '/api/auth/signup', { email, password })).statusCode).toBe(202);
}

const signin = (tenant: string, email: string, password = PASSWORD) =>
  post(tenant, '/api/auth/signin', { email, password });

/** Signs up and proves the mailbox (the link's token, with the password chosen at sign-up). */
async function verifiedAccount(tenant: string, email: string, password = PASSWORD) {
  await signup(tenant, email, password);
  const event = await h.lastEvent(tenant, 'user.email_verification_requested', email);
  const verified = await post(tenant, '/api/auth/verify-email', { token: event?.token, password });
  expect(verified.statusCode).toBe(200);
  return verified.json() as { role: string };
}

async function session(tenant: string, email: string, password = PASSWORD) {
  const response = await signin(tenant, email, password);
  expect(response.statusCode).toBe(200);
  return response.json() as { accessToken: string; refreshToken: string; user: { id: string; role: string } };
}

const refresh = (tenant: string, refreshToken: string) => post(tenant, '/api/auth/refresh', { refreshToken });

async function owners(tenant: string): Promise<string[]> {
  const rows = await h.runtime.databases.sql(tenant)<{ email: string }[]>`
    select email from auth_users where role = 'owner' order by email`;
  return rows.map((row) => row.email);
}

describe('item 1: owner takeover through sign-up before verification', () => {
  test("the issue's attack sequence is refused end to end", async () => {
    const admin = `${unique('boss')}@acme.test`;
    const tenant = await h.tenant({ admin: { email: admin } }, 'takeover');

    // The attacker signs up with the designated admin's address and tries to sign in.
    await signup(tenant, admin, 'attacker password');
    const attacker = await signin(tenant, admin, 'attacker password');
    expect(attacker.statusCode).not.toBe(200);
    const attackerRefresh: string | undefined = attacker.json().refreshToken;

    // The real admin clicks whatever verification link reached the mailbox: it cannot confirm a
    // password the admin did not choose.
    const link = await h.lastEvent(tenant, 'user.email_verification_requested', admin);
    if (link?.token) {
      const clicked = await post(tenant, '/api/auth/verify-email', {
        token: link.token,
        password: 'the real admin passphrase',
      });
      expect(clicked.statusCode).toBe(400);
    }

    // The admin is bootstrapped by the invitation, which sets the password.
    const invitation = await h.invitation(tenant, admin);
    const accepted = await post(tenant, '/api/auth/accept-invitation', {
      token: invitation,
      password: 'the real admin passphrase',
    });
    expect([accepted.statusCode, accepted.json()]).toEqual([200, { status: 'verified', role: 'owner' }]);
    const replay = await post(tenant, '/api/auth/accept-invitation', {
      token: invitation,
      password: 'attacker password 2',
    });
    expect(replay.json().error).toMatchObject({ code: 'INVITATION_TOKEN_INVALID', field: '/body/token' });

    // The attacker holds nothing: no password, no session, no owner token.
    expect((await signin(tenant, admin, 'attacker password')).statusCode).toBe(401);
    if (attackerRefresh) expect((await refresh(tenant, attackerRefresh)).statusCode).toBe(401);
    // ...and cannot make an account of theirs owner.
    const second = uniqueEmail('attacker');
    expect((await verifiedAccount(tenant, second)).role).toBe('member');
    expect(await owners(tenant)).toEqual([admin]);
    expect((await session(tenant, admin, 'the real admin passphrase')).user.role).toBe('owner');
  });

  test('the same squatting on any address: sign-in before proof is refused, the link needs the password', async () => {
    const tenant = await h.tenant({}, 'squat');
    const victim = uniqueEmail('victim');
    await signup(tenant, victim, 'squatter password');
    const early = await signin(tenant, victim, 'squatter password');
    expect([early.statusCode, early.json().error?.code]).toEqual([403, 'EMAIL_NOT_VERIFIED']);
    // The victim clicks the link the squatter's sign-up sent: it does not verify the squatter's password.
    const link = await h.lastEvent(tenant, 'user.email_verification_requested', victim);
    const clicked = await post(tenant, '/api/auth/verify-email', {
      token: link?.token,
      password: 'the victim passphrase',
    });
    expect(clicked.json().error).toMatchObject({
      code: 'VERIFICATION_PASSWORD_MISMATCH',
      field: '/body/password',
    });
    expect((await signin(tenant, victim, 'squatter password')).statusCode).toBe(403);
    // The victim takes the address back through the mailbox.
    await post(tenant, '/api/auth/forgot-password', { email: victim });
    let reset: string | undefined;
    await until('the reset email', async () => {
      reset = (await h.lastEvent(tenant, 'user.password_reset_requested', victim))?.token;
      return reset !== undefined;
    });
    const done = await post(tenant, '/api/auth/reset-password', {
      token: reset,
      password: 'the victim passphrase',
    });
    expect(done.statusCode).toBe(204);
    expect((await signin(tenant, victim, 'squatter password')).statusCode).toBe(401);
    expect((await session(tenant, victim, 'the victim passphrase')).user.role).toBe('member');
  });

  test('verification ends every session opened before it', async () => {
    const tenant = await h.tenant({}, 'preverify');
    const email = uniqueEmail('early');
    await signup(tenant, email);
    // A session from before the proof (sign-in allowed it until now), written as auth writes one.
    const sql = h.runtime.databases.sql(tenant);
    const token = randomBytes(32).toString('base64url');
    const hash = createHash('sha256').update(token).digest('base64url');
    await sql`
      insert into auth_refresh_tokens (family_id, user_id, token_hash, expires_at)
      select gen_random_uuid(), id, ${hash}, now() + interval '1 day' from auth_users where email = ${email}`;
    const link = await h.lastEvent(tenant, 'user.email_verification_requested', email);
    expect(
      (await post(tenant, '/api/auth/verify-email', { token: link?.token, password: PASSWORD })).statusCode,
    ).toBe(200);
    const after = await refresh(tenant, token);
    expect([after.statusCode, after.json().error?.code]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  });
});

describe('item 5: lockout bypass by concurrency', () => {
  test('50 concurrent wrong passwords, then the right one: all refused after the 5th', async () => {
    const tenant = await h.tenant({}, 'lockout');
    const email = uniqueEmail('target');
    await verifiedAccount(tenant, email);
    const guesses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => signin(tenant, email, `wrong guess number ${i}`)),
    );
    const statuses = guesses.map((response) => response.statusCode);
    // Only five guesses ever reached the password check; every other one was refused before it.
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(45);
    const right = await signin(tenant, email);
    expect([right.statusCode, right.json().error?.code]).toEqual([429, 'SIGNIN_LOCKED']);
  });
});

describe('item 7: promotion once, by invitation only', () => {
  test('a demoted designated admin stays demoted after a password reset', async () => {
    const admin = `${unique('boss')}@acme.test`;
    const tenant = await h.tenant({ admin: { email: admin } }, 'demoted');
    const invitation = await h.invitation(tenant, admin);
    await post(tenant, '/api/auth/accept-invitation', { token: invitation, password: PASSWORD });
    const boss = await session(tenant, admin);
    const heirEmail = uniqueEmail('heir');
    await verifiedAccount(tenant, heirEmail);
    const heirId = (await session(tenant, heirEmail)).user.id;
    const setRole = (token: string, id: string, role: string) =>
      h.request(tenant, 'PUT', `/api/auth/users/${id}/role`, { token, body: { role } });
    expect((await setRole(boss.accessToken, heirId, 'owner')).statusCode).toBe(200);
    const heir = await session(tenant, heirEmail);
    expect((await setRole(heir.accessToken, boss.user.id, 'member')).json()).toEqual({
      id: boss.user.id,
      role: 'member',
    });

    // The demoted admin resets the password through the mailbox: still a member.
    await post(tenant, '/api/auth/forgot-password', { email: admin });
    let reset: string | undefined;
    await until('the reset email', async () => {
      reset = (await h.lastEvent(tenant, 'user.password_reset_requested', admin))?.token;
      return reset !== undefined;
    });
    expect(
      (await post(tenant, '/api/auth/reset-password', { token: reset, password: 'a new passphrase' }))
        .statusCode,
    ).toBe(204);
    expect((await session(tenant, admin, 'a new passphrase')).user.role).toBe('member');
    // No new invitation is sent either (the sweep runs every second): promoted once means once.
    await h.app.invitations.sweep();
    const [count] = await h.runtime.databases.sql(tenant)<{ n: number }[]>`
      select count(*)::int as n from outbox where type = 'user.invitation_requested'`;
    expect(count?.n).toBe(1);
    expect(await owners(tenant)).toEqual([heirEmail]);
  });

  test('without spec.admin no sign-up becomes owner, until a platform engineer names one', async () => {
    const tenant = await h.tenant({}, 'ownerless');
    const first = uniqueEmail('first');
    expect((await verifiedAccount(tenant, first)).role).toBe('member');
    expect((await session(tenant, first)).user.role).toBe('member');
    expect(await owners(tenant)).toEqual([]);

    const named = `${unique('named')}@acme.test`;
    await h.operator.patchTenantSpec(tenant, { admin: { email: named } });
    const invitation = await h.invitation(tenant, named);
    const accepted = await post(tenant, '/api/auth/accept-invitation', {
      token: invitation,
      password: PASSWORD,
    });
    expect(accepted.json()).toEqual({ status: 'verified', role: 'owner' });
    expect(await owners(tenant)).toEqual([named]);
  });
});

describe('items 9-12: tokens, sessions and timing', () => {
  let tenant: string;
  beforeAll(async () => {
    tenant = await h.tenant({}, 'sessions');
  });

  test('item 9: an access token stops working at once after sign-out, password reset and demotion', async () => {
    const email = uniqueEmail('out');
    await verifiedAccount(tenant, email);
    const signedOut = await session(tenant, email);
    expect((await post(tenant, '/api/auth/signout', {}, signedOut.accessToken)).statusCode).toBe(204);
    const after = await post(tenant, '/api/auth/signout', {}, signedOut.accessToken);
    expect(after.statusCode).toBe(401);
    expect(after.json().error).toMatchObject({ code: 'SESSION_REVOKED', field: '/headers/authorization' });

    const reset = await session(tenant, email);
    await post(tenant, '/api/auth/forgot-password', { email });
    let token: string | undefined;
    await until('the reset email', async () => {
      token = (await h.lastEvent(tenant, 'user.password_reset_requested', email))?.token;
      return token !== undefined;
    });
    await post(tenant, '/api/auth/reset-password', { token, password: 'another passphrase' });
    const afterReset = await post(tenant, '/api/auth/signout', {}, reset.accessToken);
    expect(afterReset.statusCode).toBe(401);
    expect(afterReset.json().error.code).toBe('SESSION_REVOKED');

    // Demotion: an owner (named by invitation) makes an admin, then demotes them.
    const named = `${unique('owner')}@acme.test`;
    const owned = await h.tenant({ admin: { email: named } }, 'demotion');
    await post(owned, '/api/auth/accept-invitation', {
      token: await h.invitation(owned, named),
      password: PASSWORD,
    });
    const owner = await session(owned, named);
    const adminEmail = uniqueEmail('admin');
    const memberEmail = uniqueEmail('member');
    await verifiedAccount(owned, adminEmail);
    await verifiedAccount(owned, memberEmail);
    const member = await session(owned, memberEmail);
    const setRole = (as: string, id: string, role: string) =>
      h.request(owned, 'PUT', `/api/auth/users/${id}/role`, { token: as, body: { role } });
    const adminId = (await session(owned, adminEmail)).user.id;
    await setRole(owner.accessToken, adminId, 'admin');
    const admin = await session(owned, adminEmail);
    expect((await setRole(admin.accessToken, member.user.id, 'member')).statusCode).toBe(200);
    await setRole(owner.accessToken, adminId, 'member');
    const demoted = await setRole(admin.accessToken, member.user.id, 'admin');
    expect([demoted.statusCode, demoted.json().error?.code]).toEqual([401, 'SESSION_REVOKED']);
  });

  test('item 10: a sign-out racing a refresh leaves no usable token', async () => {
    const email = uniqueEmail('race');
    await verifiedAccount(tenant, email);
    for (let i = 0; i < 25; i++) {
      const tokens = await session(tenant, email);
      const [, refreshed] = await Promise.all([
        post(tenant, '/api/auth/signout', {}, tokens.accessToken),
        refresh(tenant, tokens.refreshToken),
      ]);
      if (refreshed.statusCode !== 200) continue;
      const next = refreshed.json() as { refreshToken: string; accessToken: string };
      const again = await refresh(tenant, next.refreshToken);
      expect(again.statusCode, `round ${i}: the refresh after sign-out still works`).toBe(401);
      const me = await h.request(tenant, 'GET', '/api/auth/me', { token: next.accessToken });
      expect(me.statusCode).toBe(401);
    }
  });

  test('item 11: a session ends at its absolute cap however often it is refreshed', async () => {
    const email = uniqueEmail('forever');
    await verifiedAccount(tenant, email);
    let tokens = await session(tenant, email);
    for (let i = 0; i < 3; i++) {
      const rotated = await refresh(tenant, tokens.refreshToken);
      expect(rotated.statusCode).toBe(200);
      tokens = rotated.json();
    }
    // The clock of this session moves on by its maximum lifetime: it began that long ago, and it was
    // refreshed a moment ago (its current token has its whole idle lifetime left).
    const cap = h.config.SESSION_MAX_SECONDS;
    await h.runtime.databases.sql(tenant)`
      update auth_refresh_tokens
      set created_at = created_at - make_interval(secs => ${cap}),
          session_expires_at = session_expires_at - make_interval(secs => ${cap})
      where user_id = (select id from auth_users where email = ${email}) and rotated_at is not null`;
    await h.runtime.databases.sql(tenant)`
      update auth_refresh_tokens
      set session_expires_at = session_expires_at - make_interval(secs => ${cap})
      where user_id = (select id from auth_users where email = ${email}) and rotated_at is null`;
    const late = await refresh(tenant, tokens.refreshToken);
    expect([late.statusCode, late.json().error?.code]).toEqual([401, 'REFRESH_TOKEN_EXPIRED']);
  });

  test('item 12: forgot-password and resend-verification answer without waiting for the account’s work', async () => {
    const known = uniqueEmail('known');
    await signup(tenant, known);
    const sql = h.runtime.databases.sql(tenant);
    for (const [path, type] of [
      ['/api/auth/forgot-password', 'user.password_reset_requested'],
      ['/api/auth/resend-verification', 'user.email_verification_requested'],
    ] as const) {
      if (type === 'user.email_verification_requested') {
        // Past the resend cooldown of the sign-up's email.
        await sql`update auth_one_time_tokens set created_at = now() - interval '1 hour'
          where user_id = (select id from auth_users where email = ${known})`;
      }
      const before = (await h.lastEvent(tenant, type, known))?.token;
      // Whatever an existing account costs (here: its token table is held by another transaction),
      // the answer does not wait for it: it is as fast as for an unknown address.
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked = false;
      const held = sql.begin(async (tx) => {
        await tx`lock table auth_one_time_tokens in share row exclusive mode`;
        locked = true;
        await released;
      });
      await until('the token table held', async () => locked);
      try {
        const timeout = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 3_000));
        const answered = await Promise.race([post(tenant, path, { email: known }), timeout]);
        expect(answered === 'waited' ? 'waited' : answered.statusCode, path).toBe(202);
      } finally {
        release();
        await held;
      }
      // The work still happens, after the answer.
      await until(
        `${type} after the answer`,
        async () => {
          const token = (await h.lastEvent(tenant, type, known))?.token;
          return token !== undefined && token !== before;
        },
        EVENTUALLY,
      );
    }
  });
});
