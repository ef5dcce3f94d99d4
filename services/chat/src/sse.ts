import type { FastifyReply } from 'fastify';

/**
 * A Server-Sent Events response, opened on the first event: until then the request can still fail as
 * an ordinary JSON error (a refused quota, a provider down before its first token). Written straight
 * to the socket, unbuffered, each event flushed as it comes.
 */
export class SseStream {
  readonly #reply: FastifyReply;
  #open = false;

  constructor(reply: FastifyReply) {
    this.#reply = reply;
  }

  get started(): boolean {
    return this.#open;
  }

  /** `event: <name>` with JSON data; `name` undefined writes a data-only frame (OpenAI's style). */
  send(name: string | undefined, data: unknown): void {
    this.#start();
    const raw = this.#reply.raw;
    if (raw.destroyed || raw.writableEnded) return;
    const payload = typeof data === 'string' ? data : JSON.stringify(data);
    raw.write(`${name === undefined ? '' : `event: ${name}\n`}data: ${payload}\n\n`);
  }

  end(): void {
    this.#start();
    if (!this.#reply.raw.writableEnded) this.#reply.raw.end();
  }

  #start(): void {
    if (this.#open) return;
    this.#open = true;
    this.#reply.hijack();
    // Headers set by hooks (request id, CORS) live on the reply, which a hijacked response bypasses.
    const headers: Record<string, string | string[] | number> = {};
    for (const [name, value] of Object.entries(this.#reply.getHeaders())) {
      if (value !== undefined) headers[name] = value as string | string[] | number;
    }
    this.#reply.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx-style proxies: do not buffer this response.
      'x-accel-buffering': 'no',
    });
    this.#reply.raw.flushHeaders();
  }
}

/** An AbortSignal that fires when the client goes away before the response was finished. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}
