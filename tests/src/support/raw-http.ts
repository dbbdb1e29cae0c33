// HTTP requests a well-behaved client would never send: hand-made multipart bodies, huge
// headers, bodies that stall half-way. Built on node:http so every byte and pause is ours.
import http from 'node:http';

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  /** Body pieces, written in order; `pauseMs` entries wait between writes. */
  readonly body?: readonly (Buffer | string | { readonly pauseMs: number })[];
  /** Leave the body open after the last piece (a stalled upload). */
  readonly stall?: boolean;
  /** Give up after this long (ms): the answer is then `{ status: 0, timedOut: true }`. */
  readonly timeoutMs?: number;
}

export interface RawResponse {
  /** HTTP status, or 0 when no response came (connection closed or timed out). */
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
  /** The server closed the connection before answering. */
  readonly closedWithoutAnswer: boolean;
  readonly timedOut: boolean;
  readonly elapsedMs: number;
  /** Body bytes written before the answer came or the connection closed. */
  readonly bytesSent: number;
}

/** Sends one request as described and resolves with whatever came back; never rejects. */
export function rawRequest(baseUrl: string, spec: RawRequest): Promise<RawResponse> {
  const started = Date.now();
  const url = new URL(spec.path, baseUrl);
  return new Promise((resolve) => {
    // An object: the writer loop below reads it between awaits.
    const state = { settled: false, bytesSent: 0 };
    const finish = (response: Omit<RawResponse, 'elapsedMs' | 'bytesSent'>) => {
      if (state.settled) return;
      state.settled = true;
      clearTimeout(timer);
      resolve({ ...response, elapsedMs: Date.now() - started, bytesSent: state.bytesSent });
    };
    const noAnswer = (timedOut: boolean) => ({
      status: 0,
      headers: {},
      text: '',
      json: undefined,
      closedWithoutAnswer: !timedOut,
      timedOut,
    });
    const request = http.request({
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method: spec.method ?? 'GET',
      headers: spec.headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      finish(noAnswer(true));
      request.destroy();
    }, spec.timeoutMs ?? 30_000);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        finish({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text,
          json,
          closedWithoutAnswer: false,
          timedOut: false,
        });
        request.destroy();
      };
      response.on('end', done);
      response.on('aborted', done);
      response.on('error', done);
    });
    request.on('error', () => {
      finish(noAnswer(false));
    });
    request.on('close', () => {
      finish(noAnswer(false));
    });
    void (async () => {
      for (const piece of spec.body ?? []) {
        if (state.settled || request.destroyed) return;
        if (typeof piece === 'object' && 'pauseMs' in piece) {
          await new Promise((r) => setTimeout(r, piece.pauseMs));
        } else {
          state.bytesSent += Buffer.byteLength(piece);
          // Respect backpressure, so `bytesSent` is what the server could have read.
          if (!request.write(piece)) {
            await new Promise((r) => {
              request.once('drain', r);
              request.once('close', r);
            });
          }
        }
      }
      if (!spec.stall) request.end();
    })();
  });
}

/** A multipart/form-data body built by hand (so it can be made wrong on purpose). */
export function multipart(
  boundary: string,
  parts: readonly {
    readonly name: string;
    readonly filename?: string;
    readonly contentType?: string;
    readonly data: Buffer | string;
  }[],
  options: { readonly close?: boolean } = {},
): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      `form-data; name="${part.name}"` +
      (part.filename === undefined ? '' : `; filename="${part.filename}"`);
    pieces.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\n` +
          (part.contentType === undefined ? '' : `Content-Type: ${part.contentType}\r\n`) +
          '\r\n',
      ),
      Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data),
      Buffer.from('\r\n'),
    );
  }
  if (options.close !== false) pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}
