import type { Duplex } from 'node:stream';
import { DEFAULT_MAX_HEADER_BYTES } from './headers.ts';

/**
 * Node's request-header limit for our servers. Node's default (16 KiB for all headers together)
 * is the same as the gateway's own payment-header limit, so a payment header just over 16 KiB was
 * refused by Node with an empty 431 before the app could answer `402 header_too_large`. Four times
 * the app's limit leaves room for the other headers; beyond it Node still refuses, with the JSON
 * body of `answerClientErrorsAsJson`.
 */
export const NODE_MAX_HEADER_BYTES = 4 * DEFAULT_MAX_HEADER_BYTES;

/** What Node would answer for each parser error (see `http.Server` 'clientError'), as our codes. */
const CLIENT_ERRORS: Record<string, { status: number; reason: string; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    error: 'headers_too_large',
    message: `request headers must be at most ${NODE_MAX_HEADER_BYTES} bytes in total`,
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    reason: 'Payload Too Large',
    error: 'payload_too_large',
    message: 'chunk extensions are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    error: 'request_timeout',
    message: 'the request was not received in time',
  },
};
const MALFORMED = {
  status: 400,
  reason: 'Bad Request',
  error: 'malformed_request',
  message: 'the request is not valid HTTP/1.1',
};

/**
 * Requests Node refuses before they reach the app (headers over the limit, malformed HTTP) get the
 * same `{ "error", "message" }` JSON body as every other refusal, instead of Node's empty one.
 *
 * @example
 * const server = serve({ fetch: app.fetch, port, serverOptions: { maxHeaderSize: NODE_MAX_HEADER_BYTES } });
 * answerClientErrorsAsJson(server);
 */
export function answerClientErrorsAsJson(server: {
  on(event: 'clientError', listener: (error: Error, socket: Duplex) => void): unknown;
}): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // A reset or a socket already in use by a response: nothing sensible can be written.
    if (
      error.code === 'ECONNRESET' ||
      !socket.writable ||
      ('_httpMessage' in socket && socket._httpMessage)
    ) {
      socket.destroy();
      return;
    }
    const answer = (error.code === undefined ? undefined : CLIENT_ERRORS[error.code]) ?? MALFORMED;
    const body = JSON.stringify({ error: answer.error, message: answer.message });
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  });
}
