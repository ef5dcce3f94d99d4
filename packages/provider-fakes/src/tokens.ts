import { createHash } from 'node:crypto';

/**
 * The fake's notion of a token: a run of letters/digits, or one punctuation character. It is not any
 * vendor's tokenizer; what matters is that the fake counts input, streamed output and reported usage
 * with the same rule, so a client can check that usage equals what it received.
 */
const TOKEN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

export function countTokens(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(TOKEN)) n += 1;
  return n;
}

const WORDS = (
  'the tenant platform stream token request model answer quietly rapidly careful bright cluster message ' +
  'reply signal window budget ledger river harbor lantern garden engine orbit pattern measure simple ' +
  'steady golden northern silver gentle shared remote local ordinary useful clear builds keeps sends ' +
  'counts finds brings holds writes reads moves and with across before after under through beyond ' +
  'within toward a every each some many one two seven twelve forty'
).split(' ');

/** mulberry32: a tiny seeded PRNG, so the same prompt always yields the same reply. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The reply to `prompt`, as `count` pieces of exactly one token each (a word with its leading space,
 * or a punctuation mark). The pieces are a prefix of one endless sequence per prompt, so a shorter
 * reply (lower max_tokens, a fault part-way) is always a prefix of a longer one.
 */
export function replyPieces(prompt: string, count: number): string[] {
  const seed = createHash('sha256').update(prompt).digest().readUInt32BE(0);
  const random = prng(seed);
  const pieces: string[] = [];
  let sentenceLeft = 0;
  let startOfSentence = true;
  while (pieces.length < count) {
    if (sentenceLeft === 0) sentenceLeft = 5 + Math.floor(random() * 9);
    const index = Math.floor(random() * WORDS.length);
    let word = WORDS[index] ?? 'token';
    if (startOfSentence) word = word[0]?.toUpperCase() + word.slice(1);
    pieces.push(pieces.length === 0 ? word : ` ${word}`);
    startOfSentence = false;
    sentenceLeft -= 1;
    if (pieces.length >= count) break;
    if (sentenceLeft === 0) {
      pieces.push('.');
      startOfSentence = true;
    } else if (random() < 0.12) {
      pieces.push(',');
    }
  }
  return pieces.slice(0, count);
}
