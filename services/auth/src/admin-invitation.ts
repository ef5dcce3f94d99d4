import type { Logger } from '@tenantry/logger';
import type { TenantDatabases } from '@tenantry/tenant-db';
import { sql } from 'drizzle-orm';
import {
  type AccountRow,
  createAccount,
  findAccountByEmail,
  makeInvitedOwner,
  normalizeEmail,
} from './accounts-store.ts';
import { publish } from './auth-events.ts';
import { type Tx, transaction } from './db.ts';
import { clearFailures, lockKeys } from './lockout-store.ts';
import { consumeOneTimeToken, invitationState, issueOneTimeToken } from './one-time-tokens-store.ts';
import { revokeAllSessions } from './sessions-store.ts';

/**
 * The tenant's first owner is its designated admin (`spec.admin.email`, which the operator writes into
 * `tenant_settings` under `admin`), and only through a single-use invitation sent to that address:
 * the password is chosen when the invitation is accepted, i.e. after the mailbox is proven, so nobody
 * can prepare a password (or a session) for the owner's account beforehand. Promotion happens once:
 * an accepted invitation is never issued again, so an owner who demotes the admin is obeyed. A tenant
 * without spec.admin has no owner until a platform engineer names one there.
 *
 * The operator does not call auth; auth finds the setting itself, by sweeping the tenants it serves.
 */
export type InvitationState = 'no-admin' | 'invited' | 'settled';

/**
 * Invites the designated admin of the tenant `tx` runs in, unless that is done (settled: accepted, or
 * already an owner) or an invitation is still usable. The admin's account is created without a
 * password when missing, so a sign-up with the admin's address finds it taken and does nothing.
 */
export async function inviteDesignatedAdmin(
  tx: Tx,
  tenant: string,
  ttlSeconds: number,
): Promise<InvitationState> {
  // One inviter at a time per tenant (several auth replicas sweep the same databases).
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tenantry.auth.admin-invitation'))`);
  // tenant_settings is the operator's table, not in auth's schema.
  const [setting] = await tx.execute<{ email: string | null }>(
    sql`select value->>'email' as email from tenant_settings where key = 'admin'`,
  );
  if (!setting?.email) return 'no-admin';
  const email = normalizeEmail(setting.email);
  let account = await findAccountByEmail(tx, email);
  if (account) {
    if (account.role === 'owner') return 'settled';
    const state = await invitationState(tx, account.id);
    if (state.accepted) return 'settled';
    if (state.usable) return 'invited';
  } else {
    account = await createAccount(tx, tenant, email, null);
    if (!account) throw new Error(`the account of ${email} appeared under the invitation lock`);
  }
  const issued = await issueOneTimeToken(tx, account.id, 'accept_invitation', ttlSeconds);
  if (issued) {
    await publish(tx, tenant, 'user.invitation_requested', {
      userId: account.id,
      email: account.email,
      ...issued,
    });
  }
  return 'invited';
}

/**
 * Accepts an invitation: sets the password, proves the email, makes the account owner and ends every
 * session it had (a squatter who signed up with the address before keeps nothing). Undefined when the
 * token is unknown, used or expired.
 */
export async function acceptInvitation(
  tx: Tx,
  tenant: string,
  token: string,
  passwordHash: string,
): Promise<AccountRow | undefined> {
  const account = await consumeOneTimeToken(tx, token, 'accept_invitation');
  if (!account) return undefined;
  await makeInvitedOwner(tx, account.id, passwordHash);
  await revokeAllSessions(tx, account.id);
  await clearFailures(tx, lockKeys(account.email, '').account);
  if (!account.emailVerified) {
    await publish(tx, tenant, 'user.email_verified', { userId: account.id, email: account.email });
  }
  if (account.role !== 'owner') {
    await publish(tx, tenant, 'user.role_changed', {
      userId: account.id,
      role: 'owner',
      previousRole: account.role,
      changedBy: 'invitation',
    });
  }
  return { ...account, role: 'owner', emailVerified: true };
}

export interface AdminInvitations {
  /** One pass over the served tenants (the timer calls it; tests may too). */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Sweeps the served tenants every `intervalSeconds`. A settled tenant is not read again by this
 * process; others are (one small transaction each), since a platform engineer may name an admin later.
 */
export function startAdminInvitations(options: {
  databases: TenantDatabases;
  ttlSeconds: number;
  intervalSeconds: number;
  logger?: Logger;
}): AdminInvitations {
  const { databases, ttlSeconds, logger } = options;
  const settled = new Set<string>();
  let running: Promise<void> | undefined;
  let stopped = false;

  const pass = async () => {
    for (const tenant of databases.tenants()) {
      if (stopped) return;
      if (settled.has(tenant)) continue;
      try {
        const state = await transaction(databases, tenant, (tx) =>
          inviteDesignatedAdmin(tx, tenant, ttlSeconds),
        );
        if (state === 'settled') settled.add(tenant);
      } catch (error) {
        // Retried on the next pass (the database may be briefly unavailable, or not migrated yet).
        logger?.warn({ err: error, tenant }, 'could not check the designated admin invitation');
      }
    }
  };
  const sweep = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void sweep(), options.intervalSeconds * 1000);
  timer.unref();
  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
