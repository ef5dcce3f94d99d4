export type Vendor = 'openai' | 'anthropic' | 'gemini';

export const VENDORS: readonly Vendor[] = ['openai', 'anthropic', 'gemini'];

/** One model the fakes serve. Exported as data so price tables and tests can refer to the same ids. */
export interface FakeModel {
  readonly vendor: Vendor;
  /** The name clients send (an alias for OpenAI and Anthropic, as their docs recommend). */
  readonly id: string;
  /**
   * The dated snapshot the alias resolves to. OpenAI and Anthropic report it in a response's `model`,
   * so a client that keys prices by the name it sent must map it back; Gemini reports its stable name.
   */
  readonly snapshot: string;
  readonly displayName: string;
  /** Input + output tokens the model accepts per request. */
  readonly contextWindow: number;
  readonly maxOutputTokens: number;
  /** When the snapshot was released (ISO date), as the vendors' model lists report it. */
  readonly released: string;
}

export const MODEL_CATALOGUE: readonly FakeModel[] = [
  {
    vendor: 'openai',
    id: 'gpt-4o',
    snapshot: 'gpt-4o-2024-08-06',
    displayName: 'GPT-4o',
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    released: '2024-08-06',
  },
  {
    vendor: 'openai',
    id: 'gpt-4o-mini',
    snapshot: 'gpt-4o-mini-2024-07-18',
    displayName: 'GPT-4o mini',
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    released: '2024-07-18',
  },
  {
    vendor: 'anthropic',
    id: 'claude-sonnet-4-5',
    snapshot: 'claude-sonnet-4-5-20250929',
    displayName: 'Claude Sonnet 4.5',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    released: '2025-09-29',
  },
  {
    vendor: 'anthropic',
    id: 'claude-haiku-4-5',
    snapshot: 'claude-haiku-4-5-20251001',
    displayName: 'Claude Haiku 4.5',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    released: '2025-10-01',
  },
  {
    vendor: 'gemini',
    id: 'gemini-2.5-flash',
    snapshot: 'gemini-2.5-flash',
    displayName: 'Gemini 2.5 Flash',
    contextWindow: 1_048_576 + 65_536,
    maxOutputTokens: 65_536,
    released: '2025-06-17',
  },
  {
    vendor: 'gemini',
    id: 'gemini-2.5-pro',
    snapshot: 'gemini-2.5-pro',
    displayName: 'Gemini 2.5 Pro',
    contextWindow: 1_048_576 + 65_536,
    maxOutputTokens: 65_536,
    released: '2025-06-17',
  },
];

export function modelsOf(vendor: Vendor): FakeModel[] {
  return MODEL_CATALOGUE.filter((m) => m.vendor === vendor);
}

/** The vendor's model a client named, by alias or by snapshot. */
export function findModel(vendor: Vendor, name: string): FakeModel | undefined {
  return MODEL_CATALOGUE.find((m) => m.vendor === vendor && (m.id === name || m.snapshot === name));
}

/** Input limit as the vendors state it: Gemini lists input and output limits separately. */
export function inputLimit(model: FakeModel): number {
  return model.vendor === 'gemini' ? model.contextWindow - model.maxOutputTokens : model.contextWindow;
}
