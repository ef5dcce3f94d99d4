import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { NotificationsConfig } from './config.ts';

/**
 * The pooled SMTP transport every tenant's mail goes through: a few long-lived connections to the
 * relay, reused across messages (connection set-up costs more than a message). nodemailer queues
 * sends while all connections are busy and opens new ones after a connection dies.
 */
export interface Mailer {
  send(mail: SendMailOptions): Promise<{ response: string }>;
  close(): void;
}

export type SmtpSettings = Pick<
  NotificationsConfig,
  | 'SMTP_HOST'
  | 'SMTP_PORT'
  | 'SMTP_SECURE'
  | 'SMTP_REQUIRE_TLS'
  | 'SMTP_USER'
  | 'SMTP_PASSWORD'
  | 'SMTP_POOL_SIZE'
>;

/** Timeouts short enough that an outage turns into retries quickly rather than hung sends. */
const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;

export function createMailer(settings: SmtpSettings): Mailer {
  const options: SMTPPool.Options = {
    pool: true,
    host: settings.SMTP_HOST,
    port: settings.SMTP_PORT,
    secure: settings.SMTP_SECURE,
    requireTLS: settings.SMTP_REQUIRE_TLS,
    maxConnections: settings.SMTP_POOL_SIZE,
    // Unlimited messages per connection: Mailpit and most relays keep a session open for many.
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: CONNECTION_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    ...(settings.SMTP_USER ? { auth: { user: settings.SMTP_USER, pass: settings.SMTP_PASSWORD ?? '' } } : {}),
  };
  const transport: Transporter<SMTPPool.SentMessageInfo> = nodemailer.createTransport(options);
  return {
    async send(mail) {
      const info = await transport.sendMail(mail);
      return { response: info.response };
    },
    close: () => transport.close(),
  };
}

/** What a failed send means for the delivery. */
export interface SendFailure {
  /** 5xx: the relay refused for good (unknown mailbox, policy); trying again would not help. */
  permanent: boolean;
  reason: string;
}

/**
 * 5xx answers are permanent (RFC 5321 4.2.1); 4xx answers (greylisting, mailbox busy, rate limits)
 * and every connection-level failure (refused, reset, timeout, TLS) are transient.
 */
export function classifySendError(error: unknown): SendFailure {
  const e = error as { responseCode?: unknown; response?: unknown; code?: unknown; message?: unknown };
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const detail =
    typeof e.response === 'string' && e.response !== '' ? e.response : String(e.message ?? error);
  const label = responseCode ?? (typeof e.code === 'string' ? e.code : 'error');
  return {
    permanent: responseCode !== undefined && responseCode >= 500 && responseCode < 600,
    reason: `${label}: ${detail}`.slice(0, 1_000),
  };
}
