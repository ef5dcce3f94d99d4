import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';

/**
 * Token counts where the provider gave none: before a call (what to reserve, whether the context
 * fits) and after a stream broke before its usage arrived. o200k_base (GPT-4o's encoding) is one
 * kept tokenizer for every provider: an estimate, always flagged as one.
 */
const encoding = new Tiktoken(o200kBase);

/** Tokens a message costs beyond its text (role markers), as OpenAI documents for its chat format. */
const PER_MESSAGE_OVERHEAD = 4;

export function estimateTokens(text: string): number {
  return text === '' ? 0 : encoding.encode(text).length;
}

export function estimateInputTokens(texts: readonly string[]): number {
  return texts.reduce((sum, text) => sum + estimateTokens(text) + PER_MESSAGE_OVERHEAD, 0);
}

/**
 * What to reserve for the input: the estimate with headroom, because each provider's tokenizer
 * counts differently and the reservation must cover what it will report.
 */
export function inputReservation(estimate: number): number {
  return Math.ceil(estimate * 1.5) + 16;
}
