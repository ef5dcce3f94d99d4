import { type FastifyPluginAsyncTypebox, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import {
  type AccessClaims,
  authenticatedErrors,
  hasRole,
  IDENTITY_ERROR_CODES,
  type RequestIdentity,
  type Role,
  TenantHeaders,
} from '@tenantry/identity';
import { decodeCursor, encodeCursor, errorResponses, HttpError, strictBody } from '@tenantry/service-kit';
import type { TenantDatabases } from '@tenantry/tenant-db';
import { profileChanges } from './profile-changes.ts';
import {
  ListProfilesQuery,
  Profile,
  ProfileList,
  ProfileParams,
  UpdateProfileBody,
} from './profile-schemas.ts';
import {
  ensureProfile,
  findProfile,
  listProfiles,
  type ProfileSeed,
  updateProfile,
} from './profile-store.ts';
import type { ProfileRow } from './schema.ts';
import { userNotFound } from './users-errors.ts';

export interface UsersRoutesOptions {
  identity: RequestIdentity;
  databases: TenantDatabases;
}

/** 503: the tenant's database is unreachable for now (service-kit renders it with Retry-After). */
const unavailable = errorResponses(503);

function toProfile(row: ProfileRow): Profile {
  return {
    userId: row.userId,
    email: row.email,
    displayName: row.displayName,
    avatarUrl: row.avatarUrl,
    locale: row.locale,
    timezone: row.timezone,
    // The column's check constraint admits only roles.
    role: row.role as Role,
    preferences: row.preferences,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The caller's profile as their token describes them, for when auth's signup event has not arrived. */
function seedOf(caller: AccessClaims): ProfileSeed {
  return { userId: caller.sub.toLowerCase(), email: caller.email, role: caller.role };
}

/**
 * The users API. Every handler resolves the caller through identity (the tenant from the gateway's
 * header, the token verified with that tenant's key) and queries only `databases.drizzle(tenant)`,
 * that tenant's database under its own credentials.
 */
export const usersRoutes: FastifyPluginAsyncTypebox<UsersRoutesOptions> = async (app, options) => {
  const { identity, databases } = options;
  app.get(
    '/api/users/me',
    {
      schema: {
        summary: "The caller's profile",
        description:
          'Created from the access token on first use when the signup event has not been processed yet.',
        headers: TenantHeaders,
        response: { 200: Profile, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request);
      return toProfile(await ensureProfile(databases.drizzle(caller.tenant), seedOf(caller)));
    },
  );

  app.patch(
    '/api/users/me',
    {
      schema: {
        summary: "Changes the caller's profile",
        description:
          'Only the properties given change. preferences is merged into the stored preferences; a null value deletes a key.',
        headers: TenantHeaders,
        body: UpdateProfileBody,
        response: { 200: Profile, ...authenticatedErrors, ...unavailable },
      },
      // TypeBox rather than the app's AJV for this body: AJV is configured (Fastify's defaults) to coerce
      // types and strip undeclared properties, so `true` would be stored as "true" and a misspelt
      // property would be a silent no-op. This compiler checks the body as it came.
      // (Fastify types the compiler's schema as the route's whole schema object; it gets one part.)
      validatorCompiler: (part) =>
        TypeBoxValidatorCompiler({ ...part, schema: part.schema as unknown as TSchema }),
      preValidation: strictBody(UpdateProfileBody),
    },
    async (request) => {
      const caller = await identity.caller(request);
      const changes = profileChanges(request.body);
      return toProfile(await updateProfile(databases.drizzle(caller.tenant), seedOf(caller), changes));
    },
  );

  app.get(
    '/api/users/:id',
    {
      schema: {
        summary: "A user's profile",
        description: 'Admins and owners read any profile of the tenant; members only their own.',
        headers: TenantHeaders,
        params: ProfileParams,
        response: { 200: Profile, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request);
      const id = request.params.id.toLowerCase();
      const db = databases.drizzle(caller.tenant);
      const self = seedOf(caller);
      if (id === self.userId) return toProfile(await ensureProfile(db, self));
      if (!hasRole(caller.role, 'admin')) {
        throw new HttpError(
          403,
          IDENTITY_ERROR_CODES.ROLE_REQUIRED,
          "reading another user's profile needs the admin role or above",
        );
      }
      const row = await findProfile(db, id);
      if (!row) throw userNotFound(id);
      return toProfile(row);
    },
  );

  app.get(
    '/api/users',
    {
      schema: {
        summary: "The tenant's profiles, oldest first",
        description: 'Admins and owners only. Cursor-paginated: pass nextCursor as cursor until it is null.',
        headers: TenantHeaders,
        querystring: ListProfilesQuery,
        response: { 200: ProfileList, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request): Promise<ProfileList> => {
      const caller = await identity.caller(request, 'admin');
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const { rows, more } = await listProfiles(databases.drizzle(caller.tenant), limit, after);
      const last = rows.at(-1);
      return {
        items: rows.map(toProfile),
        nextCursor: more && last ? encodeCursor({ createdAt: last.createdAt, id: last.userId }) : null,
      };
    },
  );
};
