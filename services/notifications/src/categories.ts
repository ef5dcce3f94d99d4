/**
 * What a recipient can choose to receive. Security mail (verification, password reset) is always on:
 * without it an account cannot be recovered, so neither preferences nor unsubscribe links touch it.
 */
export const CATEGORIES = ['security', 'account', 'billing', 'usage'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Categories that cannot be turned off. */
export const LOCKED_CATEGORIES: ReadonlySet<Category> = new Set(['security']);

export const CATEGORY_LABELS: Record<Category, string> = {
  security: 'security',
  account: 'account',
  billing: 'billing',
  usage: 'usage alert',
};

export function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value);
}
