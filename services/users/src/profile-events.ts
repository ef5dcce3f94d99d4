import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { EventEnvelope } from '@tenantry/events';
import { RoleSchema } from '@tenantry/identity';
import type { Logger } from '@tenantry/logger';
import type { TransactionSql } from 'postgres';
import { DISPLAY_NAME_MAX_LENGTH } from './profile-schemas.ts';
import { recordRoleChange, recordSignup } from './profile-store.ts';

/**
 * The events of auth that this service follows, from the tenant's topic. Payloads are checked (extra
 * fields allowed, so auth can add some); one that does not match makes the handler throw, so after the
 * consumer's retries the event is recorded in processed_events as failed, with the reason.
 */
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const SignedUpPayload = Type.Object({
  userId: Type.String({ pattern: UUID_PATTERN }),
  email: Type.String({ minLength: 1 }),
  displayName: Type.Optional(Type.String()),
  role: RoleSchema,
});
const RoleChangedPayload = Type.Object({
  userId: Type.String({ pattern: UUID_PATTERN }),
  role: RoleSchema,
  previousRole: RoleSchema,
});

const signedUp = TypeCompiler.Compile(SignedUpPayload);
const roleChanged = TypeCompiler.Compile(RoleChangedPayload);

function payloadOf<T extends typeof SignedUpPayload | typeof RoleChangedPayload>(
  checker: ReturnType<typeof TypeCompiler.Compile<T>>,
  event: EventEnvelope,
): Static<T> {
  const error = checker.Errors(event.payload).First();
  if (error) {
    throw new Error(
      `${event.type} event ${event.id} has an invalid payload: ${error.path || '(payload)'} ${error.message.toLowerCase()}`,
    );
  }
  return event.payload as Static<T>;
}

/** A display name from signup, in the form PATCH /me would have stored it; none when blank. */
function signupDisplayName(value: string | undefined): string | undefined {
  const trimmed = value?.trim().slice(0, DISPLAY_NAME_MAX_LENGTH);
  return trimmed === '' ? undefined : trimmed;
}

/** The event types the users service acts on; the consumer passes over the others. */
export const PROFILE_EVENT_TYPES = ['user.signed_up', 'user.role_changed'] as const;

/** The consumer's handler: runs in the transaction that records the event as processed. */
export function handleProfileEvent(logger: Logger) {
  return async (event: EventEnvelope, tx: TransactionSql): Promise<void> => {
    switch (event.type) {
      case 'user.signed_up': {
        const payload = payloadOf(signedUp, event);
        await recordSignup(tx, {
          userId: payload.userId.toLowerCase(),
          email: payload.email,
          role: payload.role,
          displayName: signupDisplayName(payload.displayName),
        });
        return;
      }
      case 'user.role_changed': {
        const payload = payloadOf(roleChanged, event);
        const found = await recordRoleChange(tx, payload.userId.toLowerCase(), payload.role);
        // Events of one user arrive in order (keyed by user id), so this means its signup event was
        // skipped as failed; the profile will be created from the user's token, with the new role.
        if (!found) {
          logger.warn(
            { tenant: event.tenant, eventId: event.id, userId: payload.userId },
            'user.role_changed for a user without a profile; ignored',
          );
        }
        return;
      }
      default:
        // The topic carries every event of the tenant; the rest are other services' business.
        return;
    }
  };
}
