import { ERROR_CODES, HttpError } from '@tenantry/service-kit';
import { MAX_PREFERENCES, PREFERENCE_KEY_MAX_LENGTH, type UpdateProfileBody } from './profile-schemas.ts';
import type { Preferences, PreferenceValue } from './schema.ts';
import { USERS_ERROR_CODES } from './users-errors.ts';

/**
 * The checks of a profile update that a JSON schema cannot express, and the normal form the values
 * are stored in. Each failure is a 400 naming the field, like the schema's own.
 */

/** A PATCH's preference entries: a value sets the key, null deletes it. */
export type PreferencesPatch = Record<string, PreferenceValue | null>;

export interface ProfileChanges {
  displayName?: string;
  avatarUrl?: string;
  locale?: string;
  timezone?: string;
  preferences?: PreferencesPatch;
}

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, ERROR_CODES.VALIDATION_FAILED, `${field} ${message}`, { field });
}

/** For messages: a client's string, shortened so an oversized input does not become an oversized log line. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** An absolute https URL with a host and no credentials in it (they would be shown to every viewer). */
function avatarUrl(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'https:' || url.hostname === '') {
    throw invalid('/body/avatarUrl', 'must be an absolute https URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('/body/avatarUrl', 'must not contain a user name or password');
  }
  return value;
}

/** The tag in canonical case (`pt-br` → `pt-BR`), so equal locales are stored equally. */
function locale(value: string): string {
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    if (canonical !== undefined) return canonical;
  } catch {
    // RangeError: not a well-formed BCP 47 tag; answered below.
  }
  throw invalid('/body/locale', `must be a BCP 47 language tag such as en or pt-BR, got ${quoted(value)}`);
}

/**
 * The zone's canonical IANA name as the runtime's time zone data knows it (`europe/lisbon` →
 * `Europe/Lisbon`, `US/Eastern` → `America/New_York`): whatever is stored can be used with Intl later.
 */
function timezone(value: string): string {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    throw invalid('/body/timezone', `must be an IANA time zone such as Europe/Lisbon, got ${quoted(value)}`);
  }
}

function preferencesPatch(patch: PreferencesPatch): PreferencesPatch {
  for (const key of Object.keys(patch)) {
    if (key.length === 0 || key.length > PREFERENCE_KEY_MAX_LENGTH) {
      throw invalid(
        '/body/preferences',
        `keys must have 1 to ${PREFERENCE_KEY_MAX_LENGTH} characters, got ${quoted(key)} (${key.length})`,
      );
    }
  }
  return patch;
}

/** The update a valid body asks for, in stored form; throws a 400 naming the first invalid field. */
export function profileChanges(body: UpdateProfileBody): ProfileChanges {
  const changes: ProfileChanges = {};
  if (body.displayName !== undefined) changes.displayName = body.displayName.trim();
  if (body.avatarUrl !== undefined) changes.avatarUrl = avatarUrl(body.avatarUrl);
  if (body.locale !== undefined) changes.locale = locale(body.locale);
  if (body.timezone !== undefined) changes.timezone = timezone(body.timezone);
  if (body.preferences !== undefined) changes.preferences = preferencesPatch(body.preferences);
  return changes;
}

/**
 * `stored` with `patch` applied: set keys replaced or added, null keys removed. Refused when the
 * result would hold more than MAX_PREFERENCES keys. Built through a Map so that no key (`__proto__`,
 * `constructor`) can reach an object's prototype.
 */
export function mergePreferences(stored: Preferences, patch: PreferencesPatch): Preferences {
  const merged = new Map<string, PreferenceValue>(Object.entries(stored));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  if (merged.size > MAX_PREFERENCES) {
    throw new HttpError(
      400,
      USERS_ERROR_CODES.PREFERENCES_LIMIT_EXCEEDED,
      `a profile keeps at most ${MAX_PREFERENCES} preferences; this change would leave ${merged.size}`,
      { field: '/body/preferences' },
    );
  }
  return Object.fromEntries(merged);
}
