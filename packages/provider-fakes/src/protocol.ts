import type { FakeModel, Vendor } from './catalogue.ts';

/** What went wrong, vendor-neutral; each vendor renders it in its own status, shape and wording. */
export type WireError =
  | { kind: 'missing-key' }
  | { kind: 'invalid-key' }
  | { kind: 'model-not-found'; model: string }
  | { kind: 'invalid-request'; message: string; param?: string }
  | { kind: 'context-exceeded'; inputTokens: number; limit: number; model: FakeModel }
  | { kind: 'max-tokens-too-large'; requested: number; limit: number; model: FakeModel }
  | { kind: 'rate-limit'; retryAfterSeconds: number; model: FakeModel }
  | { kind: 'server-error' }
  | { kind: 'overloaded' }
  | { kind: 'route-not-found'; method: string; path: string };

export interface ErrorReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One server-sent event; `data` is JSON-encoded unless it is a raw string such as `[DONE]`. */
export interface Frame {
  event?: string;
  data: unknown;
}

/** Everything a vendor needs to say about one generation, in its own wire format. */
export interface Renderer {
  /** The non-streaming response body. */
  completion(): unknown;
  streamStart(): Frame[];
  /** The frames carrying output token `index` (0-based). */
  streamToken(index: number): Frame[];
  streamEnd(): Frame[];
  /** The vendor's in-stream error, sent after HTTP 200. */
  streamError(): Frame[];
}

export interface WireProtocol {
  readonly vendor: Vendor;
  error(error: WireError): ErrorReply;
  /** Headers every response of this vendor carries (request ids). */
  commonHeaders(): Record<string, string>;
  /** Line ending between SSE frames: Google sends CRLF, the others LF. */
  readonly sseLineEnd: '\n' | '\r\n';
}

/** A generation the fake will produce, decided before the first byte is sent. */
export interface Plan {
  readonly model: FakeModel;
  readonly inputTokens: number;
  /** One token per piece; joined they are the reply text. */
  readonly pieces: readonly string[];
  readonly text: string;
  readonly finish: 'stop' | 'length';
}
