import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import type { Category } from './categories.ts';

/**
 * The mail templates: one folder per template under ./templates, one file per part and version
 * (`v1.subject.liquid`, `v1.html.liquid`, `v1.text.liquid`). A delivery records the version it was
 * queued with, so a replay renders what was meant even after a new version ships; a change of wording
 * is a new version file, and the catalog's `version` is what new deliveries get.
 *
 * HTML is rendered by an engine that escapes every output by default (a display name or a failure
 * reason cannot inject markup); text parts and subjects by one that does not (they are not HTML).
 * Both are strict: an unknown variable or filter is an error, which the template test catches.
 */
const TEMPLATES_DIR = fileURLToPath(new URL('./templates/', import.meta.url));

/** The tenant as mail shows it: branding and the host links point at. */
export interface TenantBranding {
  name: string;
  displayName: string;
  host: string;
}

/** Where a mail's links lead: the tenant's host with the configured scheme. */
export interface LinkBase {
  tenantUrl: string;
}

export interface TemplateDefinition {
  version: number;
  category: Category;
  /** The template's variables from the delivery's data (stored) and where links go (now). */
  view(data: Record<string, unknown>, links: LinkBase): Record<string, unknown>;
}

const text = (value: unknown) => String(value);
const query = (value: unknown) => encodeURIComponent(String(value));

export const TEMPLATES = {
  welcome: {
    version: 1,
    category: 'account',
    view: (data, { tenantUrl }) => ({ email: text(data.email), startUrl: `${tenantUrl}/` }),
  },
  'email-verification': {
    version: 1,
    category: 'security',
    view: (data, { tenantUrl }) => ({
      email: text(data.email),
      expiresAt: formatInstant(data.expiresAt),
      actionUrl: `${tenantUrl}/verify-email?token=${query(data.token)}`,
    }),
  },
  'admin-invitation': {
    version: 1,
    category: 'security',
    view: (data, { tenantUrl }) => ({
      email: text(data.email),
      expiresAt: formatInstant(data.expiresAt),
      actionUrl: `${tenantUrl}/accept-invitation?token=${query(data.token)}`,
    }),
  },
  'password-reset': {
    version: 1,
    category: 'security',
    view: (data, { tenantUrl }) => ({
      email: text(data.email),
      expiresAt: formatInstant(data.expiresAt),
      actionUrl: `${tenantUrl}/reset-password?token=${query(data.token)}`,
    }),
  },
  'invoice-issued': {
    version: 1,
    category: 'billing',
    view: (data, { tenantUrl }) => ({
      number: text(data.number),
      total: formatMoney(data.totalMinor, data.currency),
      periodStart: formatDate(data.periodStart),
      periodEnd: formatDate(data.periodEnd),
      dueAt: formatDate(data.dueAt),
      invoiceUrl: `${tenantUrl}/billing/invoices/${query(data.invoiceId)}`,
    }),
  },
  'payment-failed': {
    version: 1,
    category: 'billing',
    view: (data, { tenantUrl }) => ({
      amount: formatMoney(data.amountMinor, data.currency),
      reason: text(data.reason),
      nextAttemptAt: data.nextAttemptAt === null ? null : formatInstant(data.nextAttemptAt),
      billingUrl: `${tenantUrl}/billing`,
    }),
  },
  'quota-threshold': {
    version: 1,
    category: 'usage',
    view: (data, { tenantUrl }) => ({
      threshold: Number(data.threshold),
      usedTokens: formatCount(data.usedTokens),
      quotaTokens: formatCount(data.quotaTokens),
      periodEnd: formatDate(data.periodEnd),
      billingUrl: `${tenantUrl}/billing`,
    }),
  },
} as const satisfies Record<string, TemplateDefinition>;

export type TemplateName = keyof typeof TEMPLATES;

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATES, name);
}

function formatMoney(minor: unknown, currency: unknown): string {
  const code = String(currency).toUpperCase();
  const format = new Intl.NumberFormat('en', { style: 'currency', currency: code });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(Number(minor) / 10 ** digits);
}

function formatDate(value: unknown): string {
  return new Date(String(value)).toISOString().slice(0, 10);
}

function formatInstant(value: unknown): string {
  return `${new Date(String(value)).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function formatCount(value: unknown): string {
  return new Intl.NumberFormat('en').format(Number(value));
}

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

const engineOptions = {
  root: TEMPLATES_DIR,
  extname: '.liquid',
  strictVariables: true,
  strictFilters: true,
  cache: true,
} as const;
const htmlEngine = new Liquid({ ...engineOptions, outputEscape: 'escape' });
const textEngine = new Liquid(engineOptions);

/**
 * Renders `template` at `version`: `variables` are the template's view plus `tenant`,
 * `unsubscribeUrl` (null for security mail) and `categoryLabel`.
 */
export async function renderTemplate(
  template: TemplateName,
  version: number,
  variables: Record<string, unknown>,
): Promise<RenderedMail> {
  const file = (part: string) => `${template}/v${version}.${part}.liquid`;
  try {
    // The subject is a header: one line, whatever a variable held.
    const subject = (await textEngine.renderFile(file('subject'), variables)).replace(/\s+/g, ' ').trim();
    const [html, plain] = await Promise.all([
      htmlEngine.renderFile(file('html'), { ...variables, subject }),
      textEngine.renderFile(file('text'), variables),
    ]);
    return { subject, html, text: plain.trimStart() };
  } catch (error) {
    throw new Error(
      `while rendering template ${template} v${version}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
