import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import shipped from './models.json' with { type: 'json' };

export const PROVIDERS = ['openai', 'anthropic', 'google'] as const;
export type Provider = (typeof PROVIDERS)[number];

const Micro = Type.Integer({ minimum: 0 });
const ModelEntry = Type.Object(
  {
    provider: Type.Union(PROVIDERS.map((p) => Type.Literal(p))),
    id: Type.String({ minLength: 1, maxLength: 200 }),
    displayName: Type.String({ minLength: 1 }),
    contextWindow: Type.Integer({ minimum: 1 }),
    maxOutputTokens: Type.Integer({ minimum: 1 }),
    /** Micro-USD per million tokens: integers, so a cost is exact integer arithmetic. */
    inputMicroUsdPerMillion: Micro,
    outputMicroUsdPerMillion: Micro,
  },
  { additionalProperties: false },
);
const PriceTable = Type.Object(
  { models: Type.Array(ModelEntry, { minItems: 1 }) },
  { additionalProperties: false },
);
export type ModelEntry = Static<typeof ModelEntry>;

/**
 * The models the service offers and their prices: data (src/models.json), replaced as a whole by the
 * file CHAT_PRICES_FILE names, and narrowed to the providers that have a key.
 */
export class ModelCatalogue {
  readonly #byKey: Map<string, ModelEntry>;
  readonly enabledProviders: ReadonlySet<Provider>;

  constructor(models: readonly ModelEntry[], enabledProviders: Iterable<Provider>) {
    this.enabledProviders = new Set(enabledProviders);
    this.#byKey = new Map(models.map((m) => [`${m.provider}/${m.id}`, m]));
  }

  /** The shipped table, or the file's; a file that is not a price table fails the start naming it. */
  static load(file: string | undefined, enabledProviders: Iterable<Provider>): ModelCatalogue {
    let table: unknown = shipped;
    if (file !== undefined) {
      try {
        table = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new Error(`while reading the price table ${file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    if (!Value.Check(PriceTable, table)) {
      const first = [...Value.Errors(PriceTable, table)][0];
      throw new Error(
        `the price table ${file ?? 'models.json'} is invalid at ${first?.path}: ${first?.message}`,
      );
    }
    return new ModelCatalogue(table.models, enabledProviders);
  }

  /** Every model of an enabled provider. */
  list(): ModelEntry[] {
    return [...this.#byKey.values()].filter((m) => this.enabledProviders.has(m.provider));
  }

  find(provider: Provider, id: string): ModelEntry | undefined {
    return this.#byKey.get(`${provider}/${id}`);
  }

  /** The model of an enabled provider with this id (the OpenAI-compatible face routes by id alone). */
  findById(id: string): ModelEntry | undefined {
    return this.list().find((m) => m.id === id);
  }
}

/** Micro-USD for the tokens; rounded up so a priced request never costs 0. */
export function costMicroUsd(model: ModelEntry, inputTokens: number, outputTokens: number): number {
  const total = inputTokens * model.inputMicroUsdPerMillion + outputTokens * model.outputMicroUsdPerMillion;
  return Math.ceil(total / 1_000_000);
}
