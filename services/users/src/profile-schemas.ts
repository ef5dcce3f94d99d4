import { type Static, Type } from '@sinclair/typebox';
import { RoleSchema } from '@tenantry/identity';

/** The HTTP shapes of the users API; every route declares its params, query, body and responses. */

export const DISPLAY_NAME_MAX_LENGTH = 100;
export const AVATAR_URL_MAX_LENGTH = 2048;
/** Preferences a profile keeps at most, after a PATCH's additions and deletions. */
export const MAX_PREFERENCES = 50;
export const PREFERENCE_KEY_MAX_LENGTH = 64;
/** Bounds one preference string: preferences are settings, not documents. */
export const PREFERENCE_STRING_MAX_LENGTH = 1024;
/** Entries one PATCH may name (deletions included); the stored total is bounded by MAX_PREFERENCES. */
const MAX_PREFERENCE_CHANGES = 2 * MAX_PREFERENCES;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const StoredPreferenceValue = Type.Union([
  Type.String({ maxLength: PREFERENCE_STRING_MAX_LENGTH }),
  Type.Number(),
  Type.Boolean(),
]);

const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const Profile = Type.Object({
  userId: Type.String({ format: 'uuid' }),
  email: Type.String(),
  displayName: nullable(Type.String()),
  avatarUrl: nullable(Type.String()),
  locale: nullable(Type.String({ description: 'BCP 47 language tag, canonical case (pt-BR)' })),
  timezone: nullable(Type.String({ description: 'IANA time zone (Europe/Lisbon)' })),
  role: RoleSchema,
  preferences: Type.Record(Type.String(), StoredPreferenceValue),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Profile = Static<typeof Profile>;

/**
 * What `PATCH /me` may change. Only the shape is checked here; what a pattern cannot say (a real
 * IANA zone, a parseable https URL, a valid language tag, the preference count after merging) is
 * checked by profile-changes.ts, which names the same fields.
 */
export const UpdateProfileBody = Type.Object(
  {
    displayName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: DISPLAY_NAME_MAX_LENGTH,
        pattern: '\\S',
        description: 'Shown instead of the email; not only blanks',
      }),
    ),
    avatarUrl: Type.Optional(
      Type.String({ maxLength: AVATAR_URL_MAX_LENGTH, pattern: '^https://', description: 'An https URL' }),
    ),
    locale: Type.Optional(
      Type.String({
        maxLength: 35,
        pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$',
        description: 'BCP 47 language tag such as en or pt-BR; stored in canonical case',
      }),
    ),
    timezone: Type.Optional(
      Type.String({
        maxLength: 64,
        pattern: '^[A-Za-z][A-Za-z0-9_+/-]*$',
        description: 'IANA time zone such as Europe/Lisbon; stored under its canonical name',
      }),
    ),
    preferences: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Union([
          Type.String({ maxLength: PREFERENCE_STRING_MAX_LENGTH }),
          Type.Number(),
          Type.Boolean(),
          Type.Null(),
        ]),
        {
          maxProperties: MAX_PREFERENCE_CHANGES,
          description: `Merged into the stored preferences: a null value deletes the key. Keys of 1-${PREFERENCE_KEY_MAX_LENGTH} characters, at most ${MAX_PREFERENCES} stored.`,
        },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateProfileBody = Static<typeof UpdateProfileBody>;

export const ProfileParams = Type.Object({
  id: Type.String({ format: 'uuid', description: "The user's id (the token's sub)" }),
});

export const ListProfilesQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

export const ProfileList = Type.Object({
  items: Type.Array(Profile),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null on the last page',
  }),
});
export type ProfileList = Static<typeof ProfileList>;
