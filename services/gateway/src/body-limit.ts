import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { BODY_LIMIT_BYTES, ERROR_CODES, HttpError } from '@tenantry/service-kit';
import type { FastifyRequest } from 'fastify';

export function payloadTooLarge(): HttpError {
  return new HttpError(
    413,
    ERROR_CODES.PAYLOAD_TOO_LARGE,
    `request body is larger than ${BODY_LIMIT_BYTES / (1024 * 1024)} MB`,
  );
}

/**
 * A content-type parser that passes the body on as a stream, for the proxy to send upstream as it
 * arrives, refused with 413 beyond the platform's body limit. Fastify enforces its bodyLimit only
 * where it reads the body itself, which a streaming proxy never lets it do. A declared Content-Length
 * over the limit is refused before anything is read (Node's parser holds a body to its declared
 * length); a chunked body is counted, and fails the upstream request once over the limit.
 */
export function limitedBodyStream(
  request: FastifyRequest,
  payload: IncomingMessage,
  done: (error: Error | null, body?: unknown) => void,
): void {
  const declared = request.headers['content-length'];
  if (declared !== undefined) {
    if (Number(declared) > BODY_LIMIT_BYTES) done(payloadTooLarge());
    else done(null, payload);
    return;
  }
  let received = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > BODY_LIMIT_BYTES) callback(payloadTooLarge());
      else callback(null, chunk);
    },
  });
  // The error fails the upstream request reading `counted` and unpipes the client's body, which is
  // left unread: the 413 closes the connection (see the proxy's onError).
  payload.pipe(counted);
  // pipe() does not pass on a client that went away mid-body; the upstream would wait for the rest.
  payload.once('close', () => {
    if (!payload.complete) counted.destroy(new Error('the client closed the connection mid-body'));
  });
  done(null, counted);
}
