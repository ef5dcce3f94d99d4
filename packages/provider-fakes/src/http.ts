import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorReply, Frame, WireError, WireProtocol } from './protocol.ts';

/** The vendors accept large prompts; this only bounds a runaway client. */
const BODY_LIMIT_BYTES = 10 * 1024 * 1024;

export class BodyError extends Error {}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) throw new BodyError('request body is too large');
      chunks.push(chunk);
    }
  } catch (error) {
    // A client that goes away mid-upload is the client's problem, not a fault of the fake.
    throw error instanceof BodyError ? error : new BodyError('the request body was cut off');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError('the request body is not valid JSON');
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, protocol: WireProtocol, error: WireError): void {
  const reply: ErrorReply = protocol.error(error);
  sendJson(res, reply.status, reply.body, { ...protocol.commonHeaders(), ...reply.headers });
}

export function encodeFrames(frames: readonly Frame[], lineEnd: '\n' | '\r\n'): string {
  let out = '';
  for (const frame of frames) {
    if (frame.event !== undefined) out += `event: ${frame.event}${lineEnd}`;
    const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
    out += `data: ${data}${lineEnd}${lineEnd}`;
  }
  return out;
}

/** Resolves once the chunk is handed to the socket, so a following destroy does not swallow it. */
export function writeFlushed(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => {
    if (chunk === '') resolve();
    else res.write(chunk, () => resolve());
  });
}

/** A loose view of a parsed JSON object, for reading request fields without a schema library. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
