import type { Tenant } from '@tenantry/tenant-api';
import postgres from 'postgres';
import { releaseSession } from './release-session.ts';

/**
 * Tenant-wide settings services read from the tenant's own database (`tenant_settings`, platform
 * migration set), written as the owner role after the migrations. Today one: `admin`, the email of
 * the tenant's first owner (spec.admin.email); the auth service makes that account an owner once its
 * email is verified. Removing spec.admin removes the row; owners already made stay owners.
 */
export const ADMIN_SETTING = 'admin';

export async function writeTenantSettings(ownerUrl: string, tenant: Tenant): Promise<void> {
  const email = tenant.spec.admin?.email?.trim().toLowerCase();
  // Scalars only: see release-session.ts for why the type query is avoided.
  const sql = postgres(ownerUrl, { max: 1, fetch_types: false, onnotice: () => {} });
  try {
    if (email) {
      await sql`
        insert into tenant_settings (key, value) values (${ADMIN_SETTING}, ${JSON.stringify({ email })}::text::jsonb)
        on conflict (key) do update set value = excluded.value, updated_at = now()
        where tenant_settings.value is distinct from excluded.value
      `;
    } else {
      await sql`delete from tenant_settings where key = ${ADMIN_SETTING}`;
    }
  } finally {
    releaseSession(sql);
  }
}
