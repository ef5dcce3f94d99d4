import { randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';
/** Base58-like, as Anthropic's ids look (no 0, O, I, l). */
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const URL_SAFE = `${ALNUM}-_`;

function random(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** `chatcmpl-` + 29 alphanumerics, as OpenAI's completion ids. */
export const openaiCompletionId = () => `chatcmpl-${random(ALNUM, 29)}`;
export const openaiFingerprint = () => `fp_${random(HEX, 10)}`;
export const openaiRequestId = () => `req_${random(HEX, 32)}`;
/** `msg_01` + 22 base58 characters, as Anthropic's message ids. */
export const anthropicMessageId = () => `msg_01${random(BASE58, 22)}`;
export const anthropicRequestId = () => `req_011C${random(BASE58, 20)}`;
/** Gemini's responseId: a short URL-safe token. */
export const geminiResponseId = () => random(URL_SAFE, 22);

export const unixSeconds = (date: Date = new Date()) => Math.floor(date.getTime() / 1000);
