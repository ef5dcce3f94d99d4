export { CATEGORIES, type Category, LOCKED_CATEGORIES } from './categories.ts';
export { loadNotificationsConfig, type NotificationsConfig } from './config.ts';
export { MAILED_EVENT_TYPES, messageIdOf, planMails } from './event-mail.ts';
export { CONSUMER_NAME } from './notification-events.ts';
export { NOTIFICATIONS_ERROR_CODES } from './notifications-errors.ts';
export {
  buildNotificationsService,
  type NotificationsServiceOptions,
  SERVICE_NAME,
} from './notifications-service.ts';
export { program } from './program.ts';
export { renderTemplate, TEMPLATES, type TemplateName } from './templates.ts';
