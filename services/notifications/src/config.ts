import { Type } from '@sinclair/typebox';
import { type Env, loadConfig } from '@tenantry/config';
import { tenantServiceEnv } from '@tenantry/service-runtime';

/** The notifications service's configuration: the only reader of the environment in this program. */
const schema = Type.Object({
  ...tenantServiceEnv(3004),
  /** The SMTP relay. The devstack's Mailpit by default; a real relay in production (chart: smtp.*). */
  SMTP_HOST: Type.String({ minLength: 1, default: 'localhost' }),
  SMTP_PORT: Type.Integer({ minimum: 1, maximum: 65_535, default: 1025 }),
  /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it (587, 25). */
  SMTP_SECURE: Type.Boolean({ default: false }),
  /** Refuse to send without STARTTLS (a real relay on 587); Mailpit offers none. */
  SMTP_REQUIRE_TLS: Type.Boolean({ default: false }),
  SMTP_USER: Type.Optional(Type.String({ minLength: 1 })),
  SMTP_PASSWORD: Type.Optional(Type.String({ minLength: 1, secret: true })),
  /** Connections of the pooled transport, shared by every tenant. */
  SMTP_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
  /** The sender address; its display name is the tenant's. Must be one the relay may send as. */
  MAIL_FROM: Type.String({ minLength: 3, default: 'notifications@tenantry.local' }),
  /** https in production; http for the devstack, whose hosts serve plain HTTP. */
  LINK_SCHEME: Type.Union([Type.Literal('https'), Type.Literal('http')], { default: 'https' }),
  /** Signs one-click unsubscribe tokens (HS256); at least 32 characters, from a Secret. */
  UNSUBSCRIBE_SECRET: Type.String({ minLength: 32, secret: true }),
  UNSUBSCRIBE_TTL_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 60 }),
  /** Sending attempts before a transiently failing delivery is dead (Knock's figure). */
  DELIVERY_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
  /** First retry delay; doubles per attempt up to DELIVERY_MAX_BACKOFF_MS, with full jitter. */
  DELIVERY_BASE_BACKOFF_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000 }),
  DELIVERY_MAX_BACKOFF_MS: Type.Integer({ minimum: 10, maximum: 86_400_000, default: 600_000 }),
  /** How often due deliveries are looked for besides the wake-up after each event. */
  DELIVERY_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1_000 }),
  /**
   * A delivery left in `sending` this long (a crashed replica) is tried again. Keep it well above the
   * longest send (mailer.ts: 10 s to connect, 30 s of socket silence), or a slow send is duplicated.
   */
  DELIVERY_LEASE_MS: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 120_000 }),
});

export type NotificationsConfig = ReturnType<typeof loadNotificationsConfig>;

/** Throws one ConfigError listing every invalid or missing variable. */
export function loadNotificationsConfig(env: Env = process.env) {
  return loadConfig(schema, env);
}
