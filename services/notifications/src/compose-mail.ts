import type { SendMailOptions } from 'nodemailer';
import { CATEGORY_LABELS, type Category, isCategory, LOCKED_CATEGORIES } from './categories.ts';
import { isTemplateName, renderTemplate, TEMPLATES, type TenantBranding } from './templates.ts';
import type { UnsubscribeTokens } from './unsubscribe-token.ts';

/** The public path of the one-click unsubscribe endpoint (RFC 8058), at the tenant's host. */
export const UNSUBSCRIBE_PATH = '/api/notifications/unsubscribe';

export interface MailToCompose {
  recipient: string;
  template: string;
  templateVersion: number;
  category: string;
  data: Record<string, unknown>;
  messageId: string;
  eventId: string;
}

export interface ComposeOptions {
  tenant: TenantBranding;
  from: string;
  scheme: 'http' | 'https';
  tokens: UnsubscribeTokens;
}

/**
 * The message for one delivery: rendered at the version it was queued with, from the tenant's
 * display name, with the Message-ID derived from its event, and, unless it is security mail, the
 * RFC 8058 one-click unsubscribe headers and a link in the body.
 */
export async function composeMail(mail: MailToCompose, options: ComposeOptions): Promise<SendMailOptions> {
  const { tenant, scheme, tokens } = options;
  if (!isTemplateName(mail.template)) throw new Error(`unknown template ${mail.template}`);
  if (!isCategory(mail.category)) throw new Error(`unknown category ${mail.category}`);
  const tenantUrl = `${scheme}://${tenant.host}`;
  const category: Category = mail.category;
  const unsubscribeUrl = LOCKED_CATEGORIES.has(category)
    ? null
    : `${tenantUrl}${UNSUBSCRIBE_PATH}?token=${await tokens.sign({ tenant: tenant.name, email: mail.recipient, category })}`;
  const view = TEMPLATES[mail.template].view(mail.data, { tenantUrl });
  const rendered = await renderTemplate(mail.template, mail.templateVersion, {
    ...view,
    tenant: { ...tenant, url: tenantUrl },
    unsubscribeUrl,
    categoryLabel: CATEGORY_LABELS[category],
  });
  return {
    from: { name: tenant.displayName, address: options.from },
    to: mail.recipient,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    messageId: mail.messageId,
    headers: {
      'X-Tenantry-Tenant': tenant.name,
      'X-Tenantry-Event-Id': mail.eventId,
      'X-Tenantry-Template': `${mail.template}/v${mail.templateVersion}`,
      // Security mail is not bulk mail: no unsubscribe, and no auto-suppression by the receiver.
      ...(unsubscribeUrl
        ? { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
        : {}),
    },
  };
}
