import type { TenantServiceProgram } from '@tenantry/service-runtime';
import { loadNotificationsConfig, type NotificationsConfig } from './config.ts';
import { buildNotificationsService, SERVICE_NAME } from './notifications-service.ts';

/** The notifications service: it consumes events, reads tenant branding and verifies tokens only. */
export const program: TenantServiceProgram<NotificationsConfig> = {
  service: SERVICE_NAME,
  loadConfig: loadNotificationsConfig,
  build: ({ consumers, ...parts }) =>
    buildNotificationsService({ ...parts, ...(consumers ? { events: consumers } : {}) }),
};
