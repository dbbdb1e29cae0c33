// `Expect: 100-continue`: a client (curl does it for every body over 1 MiB) sends the headers
// and waits for "100 Continue" before sending the body. Node answers 100 by itself unless the
// server listens for 'checkContinue', so by default a refused upload (401, 413, 429) arrived
// only after its whole body had been sent. Here the upload route says "continue" only once
// the upload is admitted; every other request gets it at once, as before.
import type http from 'node:http';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';

const CONTINUED = Symbol('framewise.continued');

/** Whether the client waits for "100 Continue" before sending its body. */
function expectsContinue(req: http.IncomingMessage): boolean {
  return (req.headers.expect ?? '').toLowerCase() === '100-continue';
}

/** Whether the body of `req` can be on its way: it was never held back, or "continue" was sent. */
export function bodyMayArrive(req: Request, res: Response): boolean {
  return !expectsContinue(req) || CONTINUED in res;
}

/** Sends "100 Continue" if the client waits for it (once). */
function sendContinue(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (!expectsContinue(req) || CONTINUED in res) return;
  Object.defineProperty(res, CONTINUED, { value: true });
  res.writeContinue();
}

/** Route middleware: the request is admitted; let the client send its body. */
export function continueNow(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    sendContinue(req, res);
    next();
  };
}

/**
 * Serves `app` on `server`, holding "100 Continue" back for requests that `holdBack` selects
 * (their route calls {@link continueNow} once it has checked them).
 */
export function serveWithExpectContinue(
  server: http.Server,
  app: Express,
  holdBack: (req: http.IncomingMessage) => boolean,
): void {
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!holdBack(req)) sendContinue(req, res);
    app(req, res);
  });
}

/** The upload route: its "continue" waits for authentication, the size check and the quota. */
export function isUpload(req: http.IncomingMessage): boolean {
  return (
    req.method === 'POST' && (req.url ?? '').split('?')[0]?.replace(/\/+$/, '') === '/v1/videos'
  );
}
