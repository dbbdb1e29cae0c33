// Bad inputs over HTTP: every upload rejection of issue #7, malformed multipart, huge headers,
// a stalled upload, path traversal in every id and index, SQL-looking filters, bad API keys and
// rate-limit excess. Each expects an exact status and (for the API's own answers) problem code.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ApiClient } from '../support/api-client';
import { multipart, rawRequest } from '../support/raw-http';
import type { BadInputCase } from './case';
import {
  CaseFailure,
  RATE_LIMIT_PER_MINUTE,
  UPLOAD_IDLE_TIMEOUT_MS,
  UPLOAD_MAX_BYTES,
  check,
  expectProblem,
  type SuiteContext,
} from './context';

const MiB = 1024 * 1024;

/** An upload with the given form fields (file last) and headers; expects a problem. */
function uploadCase(
  name: string,
  status: number,
  code: string,
  file: (ctx: SuiteContext) => string,
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
): BadInputCase {
  return {
    channel: 'http',
    name,
    expected: `${status} ${code}, nothing created`,
    run: async (ctx) => {
      const before = await videoCount(ctx);
      expectProblem(await ctx.client.upload(file(ctx), fields, headers), status, code);
      check((await videoCount(ctx)) === before, 'a video row was created');
    },
  };
}

/** A GET (or other method) under the API that must answer this status and code. */
function requestCase(
  name: string,
  pathFor: (ctx: SuiteContext) => string,
  status: number,
  code?: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): BadInputCase {
  return {
    channel: 'http',
    name,
    expected: code === undefined ? `${status}` : `${status} ${code}`,
    run: async (ctx) => {
      expectProblem(await ctx.client.request(pathFor(ctx), init), status, code);
    },
  };
}

/** A raw request (its path not normalized by a URL parser) with exact status and code. */
function rawCase(
  name: string,
  pathFor: (ctx: SuiteContext) => string,
  status: number,
  code?: string,
  method = 'GET',
): BadInputCase {
  return {
    channel: 'http',
    name,
    expected: code === undefined ? `${status}` : `${status} ${code}`,
    run: async (ctx) => {
      const response = await rawRequest(ctx.stack.apiUrl, {
        method,
        path: pathFor(ctx),
        headers: { authorization: `Bearer ${ctx.stack.apiKey}` },
      });
      expectProblem(response, status, code);
    },
  };
}

async function videoCount(ctx: SuiteContext): Promise<number> {
  const response = await ctx.probe.request('/v1/videos?limit=1000');
  if (response.status !== 200) throw new CaseFailure(`list answered ${response.status}`);
  return (response.json as { items: unknown[] }).items.length;
}

/** A video that exists (the first accepted one), for cases about its sub-resources. */
function someVideo(ctx: SuiteContext): string {
  const first = ctx.accepted.keys().next();
  if (first.done === true) throw new CaseFailure('no accepted video to address');
  return first.value;
}

/** Sends a multipart body by hand to POST /v1/videos. */
async function sendMultipart(
  ctx: SuiteContext,
  body: Buffer,
  contentType: string,
): Promise<Awaited<ReturnType<typeof rawRequest>>> {
  return rawRequest(ctx.stack.apiUrl, {
    method: 'POST',
    path: '/v1/videos',
    headers: {
      authorization: `Bearer ${ctx.stack.apiKey}`,
      'content-type': contentType,
      'content-length': body.length,
    },
    body: [body],
  });
}

function multipartCase(
  name: string,
  status: number,
  code: string,
  build: (ctx: SuiteContext) => { body: Buffer; contentType: string },
): BadInputCase {
  return {
    channel: 'http',
    name,
    expected: `${status} ${code}, nothing created`,
    run: async (ctx) => {
      const before = await videoCount(ctx);
      const { body, contentType } = build(ctx);
      expectProblem(await sendMultipart(ctx, body, contentType), status, code);
      check((await videoCount(ctx)) === before, 'a video row was created');
    },
  };
}

const B = 'fwBoundary7MA4YWxkTrZu0gW';
const MULTIPART = `multipart/form-data; boundary=${B}`;
const tinyFile = { name: 'file', filename: 'x.mp4', contentType: 'video/mp4', data: 'abc' };

const SQL = `' OR '1'='1`;
const TRAVERSAL = ['..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e%2fapikeys', '..%5C..%5Cwin.ini'];

export const HTTP_CASES: readonly BadInputCase[] = [
  // --- issue #7's list -----------------------------------------------------------------------
  uploadCase('upload: zero-byte file', 400, 'empty_file', (c) => c.media.empty),
  uploadCase('upload: truncated mp4', 422, 'truncated_video', (c) => c.media.truncated),
  uploadCase('upload: text file named .mp4', 415, 'unsupported_content', (c) => c.media.text),
  uploadCase('upload: PNG image', 415, 'unsupported_extension', (c) => c.media.png),
  uploadCase('upload: PNG named .mp4', 415, 'unsupported_content', (c) => c.media.pngAsMp4),
  uploadCase('upload: audio-only mp4', 422, 'no_video_stream', (c) => c.media.audioOnly),
  {
    channel: 'http',
    name: 'upload: over the size limit, chunked, cut off early',
    expected: '413 file_too_large before the client has sent much past the limit',
    run: async (ctx) => {
      const head = multipart(B, [{ ...tinyFile, data: '' }], { close: false });
      // The part header without its data, then 40 MiB of data in 1 MiB writes.
      const headOnly = head.subarray(0, head.length - 2);
      const chunk = Buffer.alloc(MiB, 0x41);
      const response = await rawRequest(ctx.stack.apiUrl, {
        method: 'POST',
        path: '/v1/videos',
        headers: {
          authorization: `Bearer ${ctx.stack.apiKey}`,
          'content-type': MULTIPART,
          'transfer-encoding': 'chunked',
        },
        body: [headOnly, ...Array.from({ length: 40 }, () => chunk)],
      });
      expectProblem(response, 413, 'file_too_large');
      check(
        response.bytesSent < UPLOAD_MAX_BYTES + 8 * MiB,
        `the client sent ${response.bytesSent} bytes before the answer (limit ${UPLOAD_MAX_BYTES})`,
      );
    },
  },
  {
    channel: 'http',
    name: 'upload: Content-Length over the limit',
    expected: '413 file_too_large before the body is read',
    run: async (ctx) => {
      const response = await rawRequest(ctx.stack.apiUrl, {
        method: 'POST',
        path: '/v1/videos',
        headers: {
          authorization: `Bearer ${ctx.stack.apiKey}`,
          'content-type': MULTIPART,
          'content-length': 100 * UPLOAD_MAX_BYTES,
        },
        body: [multipart(B, [tinyFile], { close: false })],
        stall: true,
        timeoutMs: 10_000,
      });
      expectProblem(response, 413, 'file_too_large');
    },
  },
  {
    channel: 'http',
    name: 'upload: missing file field',
    expected: '400 missing_file',
    run: async (ctx) => {
      const form = new FormData();
      form.append('camera', 'cam-1');
      expectProblem(
        await ctx.client.request('/v1/videos', { method: 'POST', body: form }),
        400,
        'missing_file',
      );
    },
  },
  uploadCase('upload: unknown field', 400, 'unknown_fields', (c) => c.media.good, {
    colour: 'red',
  }),
  uploadCase('upload: bad recorded_at', 400, 'invalid_fields', (c) => c.media.good, {
    recorded_at: 'yesterday at noon',
  }),
  uploadCase('upload: sampling fps out of range', 400, 'invalid_sampling', (c) => c.media.good, {
    sampling: 'fps:100000',
  }),
  uploadCase('upload: sampling every:0', 400, 'invalid_sampling', (c) => c.media.good, {
    sampling: 'every:0',
  }),
  uploadCase('upload: unknown model', 400, 'unknown_model', (c) => c.media.good, {
    model: 'yolov99@7',
  }),
  uploadCase(
    'upload: Idempotency-Key with a control character',
    400,
    'invalid_idempotency_key',
    (c) => c.media.good,
    {},
    { 'idempotency-key': 'abc\tdef' },
  ),
  {
    channel: 'http',
    name: 'upload: 100 concurrent uploads',
    expected: 'every one 202 with its own id; then each canceled with results=delete (204)',
    run: async (ctx) => {
      const answers = await Promise.allSettled(
        Array.from({ length: 100 }, () =>
          ctx.client.upload(ctx.media.good, { sampling: 'every:40' }),
        ),
      );
      const accepted = answers.flatMap((a) =>
        a.status === 'fulfilled' && a.value.status === 202
          ? [(a.value.json as { id: string }).id]
          : [],
      );
      // Whatever happens, the accepted ones are canceled and deleted: no later case waits on them.
      const deletes = await Promise.all(
        accepted.map((id) =>
          ctx.client.request(`/v1/videos/${id}?results=delete`, { method: 'DELETE' }),
        ),
      );
      const outcomes = answers.map((a) =>
        a.status === 'fulfilled' ? String(a.value.status) : `error: ${describeReason(a.reason)}`,
      );
      check(accepted.length === 100, `answers: ${JSON.stringify(countByText(outcomes))}`);
      check(new Set(accepted).size === 100, 'ids are not distinct');
      check(
        deletes.every((d) => d.status === 204),
        `deletes: ${JSON.stringify(countBy(deletes.map((d) => d.status)))}`,
      );
      const gone = await Promise.all(
        accepted.slice(0, 10).map((id) => ctx.client.request(`/v1/videos/${id}`)),
      );
      check(
        gone.every((g) => g.status === 404),
        'a deleted video is still readable',
      );
    },
  },
  // --- malformed multipart ---------------------------------------------------------------
  multipartCase('multipart: no boundary in Content-Type', 400, 'bad_multipart', () => ({
    body: multipart(B, [tinyFile]),
    contentType: 'multipart/form-data',
  })),
  multipartCase('multipart: body of garbage', 400, 'bad_multipart', () => ({
    body: Buffer.from('\x00\x01garbage without any boundary\r\n\r\n'.repeat(50)),
    contentType: MULTIPART,
  })),
  multipartCase('multipart: never closed', 400, 'bad_multipart', () => ({
    body: multipart(B, [tinyFile], { close: false }),
    contentType: MULTIPART,
  })),
  multipartCase('multipart: part without Content-Disposition', 400, 'missing_file', () => ({
    body: Buffer.from(`--${B}\r\nContent-Type: video/mp4\r\n\r\nabc\r\n--${B}--\r\n`),
    contentType: MULTIPART,
  })),
  multipartCase('multipart: JSON body instead of a form', 400, 'missing_file', () => ({
    body: Buffer.from('{"file":"x.mp4"}'),
    contentType: 'application/json',
  })),
  multipartCase('multipart: the file in another field', 400, 'unexpected_file', () => ({
    body: multipart(B, [{ ...tinyFile, name: 'video' }]),
    contentType: MULTIPART,
  })),
  multipartCase('multipart: two files', 400, 'bad_multipart', () => ({
    body: multipart(B, [tinyFile, tinyFile]),
    contentType: MULTIPART,
  })),
  multipartCase('multipart: 30 fields', 400, 'bad_multipart', () => ({
    body: multipart(B, [
      ...Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: 'x' })),
      tinyFile,
    ]),
    contentType: MULTIPART,
  })),
  multipartCase('multipart: a 1 MiB field', 400, 'bad_multipart', () => ({
    body: multipart(B, [{ name: 'camera', data: 'c'.repeat(MiB) }, tinyFile]),
    contentType: MULTIPART,
  })),
  // --- headers and slow clients ------------------------------------------------------------
  {
    channel: 'http',
    name: 'headers: a 64 KiB header',
    expected:
      "431 from Node's HTTP parser, or the connection closed while the headers are still being sent",
    run: async (ctx) => {
      const response = await rawRequest(ctx.stack.apiUrl, {
        path: '/v1/videos',
        headers: {
          authorization: `Bearer ${ctx.stack.apiKey}`,
          'x-padding': 'p'.repeat(64 * 1024),
        },
      });
      check(
        response.status === 431 || response.closedWithoutAnswer,
        `status ${response.status}: ${response.text.slice(0, 200)}`,
      );
    },
  },
  {
    channel: 'http',
    name: 'headers: 2000 headers',
    expected: "400 or 431 from Node's HTTP parser (the request never reaches the API)",
    run: async (ctx) => {
      const headers: Record<string, string> = { authorization: `Bearer ${ctx.stack.apiKey}` };
      for (let i = 0; i < 2000; i++) headers[`x-h${i}`] = 'v';
      const response = await rawRequest(ctx.stack.apiUrl, { path: '/v1/videos', headers });
      check(
        response.status === 400 || response.status === 431 || response.closedWithoutAnswer,
        `status ${response.status}: ${response.text.slice(0, 200)}`,
      );
    },
  },
  {
    channel: 'http',
    name: 'upload: stalled half-way',
    expected: `408 upload_timeout after UPLOAD_IDLE_TIMEOUT (${UPLOAD_IDLE_TIMEOUT_MS} ms) of silence; nothing created, staging removed`,
    run: async (ctx) => {
      const before = await videoCount(ctx);
      const body = multipart(B, [{ ...tinyFile, data: Buffer.alloc(256 * 1024, 1) }]);
      const response = await rawRequest(ctx.stack.apiUrl, {
        method: 'POST',
        path: '/v1/videos',
        headers: {
          authorization: `Bearer ${ctx.stack.apiKey}`,
          'content-type': MULTIPART,
          'content-length': body.length,
        },
        body: [body.subarray(0, 100 * 1024)],
        stall: true,
        timeoutMs: UPLOAD_IDLE_TIMEOUT_MS + 10_000,
      });
      check(
        !response.timedOut,
        `the server kept the stalled upload open for ${response.elapsedMs} ms`,
      );
      expectProblem(response, 408, 'upload_timeout');
      check((await videoCount(ctx)) === before, 'a video row was created');
      await new Promise((r) => setTimeout(r, 200));
      const staging = path.join(ctx.stack.dataDir, 'tmp');
      const left = (await readdir(staging)).filter((f) => f.startsWith('fw-upload-'));
      check(left.length === 0, `staging directories left: ${left.join(', ')}`);
    },
  },
  {
    channel: 'http',
    name: 'upload: filename with path traversal',
    expected:
      '202; the original is stored under the video id, nothing written at the traversal target',
    run: async (ctx) => {
      const target = `fw-badinput-${randomUUID()}.mp4`;
      const filename = `../../../../../../tmp/${target}`;
      const form = new FormData();
      form.append('sampling', 'every:10');
      form.append('file', new Blob([await readFileBytes(ctx.media.good)]), filename);
      const response = await ctx.client.request('/v1/videos', { method: 'POST', body: form });
      check(response.status === 202, `status ${response.status}: ${response.text.slice(0, 200)}`);
      const video = response.json as { id: string };
      ctx.accepted.set(video.id, 4);
      check(!existsSync(path.join('/tmp', target)), `/tmp/${target} was written`);
      const stored = await readdir(path.join(ctx.stack.dataDir, 'frames', 'videos', video.id));
      check(stored.includes('original.mp4'), `stored: ${stored.join(', ')}`);
    },
  },
  // --- path traversal in ids and indexes -----------------------------------------------------
  ...TRAVERSAL.flatMap((t) => [
    requestCase(`traversal: video id ${t}`, () => `/v1/videos/${t}`, 404, 'video_not_found'),
    requestCase(
      `traversal: detections of ${t}`,
      () => `/v1/videos/${t}/detections`,
      404,
      'video_not_found',
    ),
    requestCase(
      `traversal: events of ${t}`,
      () => `/v1/videos/${t}/events`,
      404,
      'video_not_found',
    ),
    requestCase(`traversal: DELETE ${t}`, () => `/v1/videos/${t}`, 404, 'video_not_found', {
      method: 'DELETE',
    }),
    requestCase(
      `traversal: frame index ${t}`,
      (c) => `/v1/videos/${someVideo(c)}/frames/${t}`,
      400,
      'invalid_frame_index',
    ),
  ]),
  rawCase('traversal: raw ../ in the path', () => '/v1/videos/../../../etc/passwd', 404),
  rawCase(
    'traversal: raw ../ after a video id',
    (c) => `/v1/videos/${someVideo(c)}/frames/../../../../etc/passwd`,
    404,
  ),
  requestCase(
    'traversal: negative frame index',
    (c) => `/v1/videos/${someVideo(c)}/frames/-1`,
    400,
    'invalid_frame_index',
  ),
  requestCase(
    'traversal: frame index past the end',
    (c) => `/v1/videos/${someVideo(c)}/frames/99999`,
    404,
    'frame_not_found',
  ),
  requestCase(
    'traversal: cursor of a path',
    () => '/v1/videos?cursor=..%2F..%2Fetc%2Fpasswd',
    400,
    'invalid_cursor',
  ),
  // --- SQL-looking filters -------------------------------------------------------------------
  requestCase(
    'sql: status filter',
    () => `/v1/videos?status=${encodeURIComponent(`completed${SQL}`)}`,
    400,
    'invalid_query',
  ),
  {
    channel: 'http',
    name: 'sql: camera filter',
    expected: '200 with no videos (the string is a value, not SQL)',
    run: async (ctx) => {
      const response = await ctx.client.request(`/v1/videos?camera=${encodeURIComponent(SQL)}`);
      check(response.status === 200, `status ${response.status}`);
      check(
        (response.json as { items: unknown[] }).items.length === 0,
        'the filter matched videos',
      );
    },
  },
  {
    channel: 'http',
    name: 'sql: class filter with a DROP TABLE',
    expected: '200 with no frames; the results are still there afterwards',
    run: async (ctx) => {
      const id = someVideo(ctx);
      const classes = encodeURIComponent(`red_square${SQL}, x'); DROP TABLE frame_results; --`);
      const response = await ctx.client.request(`/v1/videos/${id}/detections?class=${classes}`);
      check(response.status === 200, `status ${response.status}: ${response.text.slice(0, 200)}`);
      check(
        (response.json as { items: unknown[] }).items.length === 0,
        'the filter matched frames',
      );
      const all = await ctx.client.request(`/v1/videos/${id}/detections?limit=1`);
      check(
        all.status === 200 && (all.json as { items: unknown[] }).items.length === 1,
        'results gone',
      );
    },
  },
  requestCase(
    'sql: min_score',
    (c) => `/v1/videos/${someVideo(c)}/detections?min_score=${encodeURIComponent('0 OR 1=1')}`,
    400,
    'invalid_query',
  ),
  requestCase(
    'sql: from_ms',
    (c) =>
      `/v1/videos/${someVideo(c)}/detections?from_ms=${encodeURIComponent('0; DELETE FROM videos')}`,
    400,
    'invalid_query',
  ),
  requestCase(
    'sql: limit',
    () => `/v1/videos?limit=${encodeURIComponent('1; DROP TABLE videos')}`,
    400,
    'invalid_query',
  ),
  requestCase(
    'sql: cursor',
    () => `/v1/videos?cursor=${encodeURIComponent(`1${SQL}`)}`,
    400,
    'invalid_cursor',
  ),
  requestCase('query: limit 0', () => '/v1/videos?limit=0', 400, 'invalid_query'),
  requestCase('query: unknown parameter', () => '/v1/videos?order=desc', 400, 'unknown_fields'),
  requestCase(
    'query: DELETE results=everything',
    (c) => `/v1/videos/${someVideo(c)}?results=everything`,
    400,
    'invalid_query',
    { method: 'DELETE' },
  ),
  requestCase('route: unknown', () => '/v1/nothing-here', 404, 'route_not_found'),
  requestCase('route: PUT /v1/videos', () => '/v1/videos', 404, 'route_not_found', {
    method: 'PUT',
  }),
  // --- API keys --------------------------------------------------------------------------------
  ...(
    [
      ['no Authorization header', undefined],
      ['a wrong key', 'Bearer 4f3c2b1a0f3c2b1a0f3c2b1a0f3c2b1a'],
      ['the Basic scheme', 'Basic dXNlcjpwYXNz'],
      ['an empty Bearer', 'Bearer '],
      ['an 8 KiB key', `Bearer ${'k'.repeat(8192)}`],
      ['a key that is SQL', `Bearer ${SQL}`],
      ['a key that is a path', 'Bearer ../../apikeys'],
      ['two keys', 'Bearer a Bearer b'],
    ] as const
  ).map(([what, header]): BadInputCase => ({
    channel: 'http',
    name: `auth: ${what}`,
    expected: '401 unauthorized with WWW-Authenticate',
    run: async (ctx) => {
      const response = await fetch(`${ctx.stack.apiUrl}/v1/videos`, {
        headers: header === undefined ? {} : { authorization: header },
      });
      const text = await response.text();
      expectProblem(
        { status: response.status, headers: response.headers, text, json: parseJson(text) },
        401,
        'unauthorized',
      );
      check(response.headers.get('www-authenticate') === 'Bearer', 'no WWW-Authenticate');
    },
  })),
  {
    channel: 'http',
    name: 'rate limit: one key over its limit',
    expected: `429 rate_limited with Retry-After past ${RATE_LIMIT_PER_MINUTE} requests a minute; other keys unaffected`,
    run: async (ctx) => {
      const limited = new ApiClient(ctx.stack.apiUrl, await ctx.createKey('rate-limited'));
      let statuses: number[] = [];
      let tooMany: Awaited<ReturnType<ApiClient['request']>> | undefined;
      // The limit is a fixed one-minute window: a burst that straddles two windows is retried.
      for (let attempt = 0; attempt < 2; attempt++) {
        const window = Math.floor(Date.now() / 60_000);
        statuses = [];
        tooMany = undefined;
        // Cheap requests (an id that is no UUID: answered without the database), 25 at a time.
        for (let sent = 0; sent < RATE_LIMIT_PER_MINUTE + 50; sent += 25) {
          const batch = await Promise.all(
            Array.from({ length: 25 }, () => limited.request('/v1/videos/not-a-uuid')),
          );
          for (const r of batch) {
            statuses.push(r.status);
            if (r.status === 429) tooMany ??= r;
          }
        }
        if (Math.floor(Date.now() / 60_000) === window) break;
      }
      check(
        tooMany !== undefined,
        `no 429 in ${statuses.length}: ${JSON.stringify(countBy(statuses))}`,
      );
      if (tooMany) {
        expectProblem(tooMany, 429, 'rate_limited');
        const retry = Number(tooMany.headers.get('retry-after'));
        check(
          retry >= 1 && retry <= 60,
          `Retry-After ${String(tooMany.headers.get('retry-after'))}`,
        );
      }
      const allowed = statuses.filter((s) => s === 404).length;
      check(
        allowed <= RATE_LIMIT_PER_MINUTE,
        `${allowed} requests were served (limit ${RATE_LIMIT_PER_MINUTE})`,
      );
      const other = await ctx.client.request('/v1/videos?limit=1');
      check(other.status === 200, `another key got ${other.status}`);
    },
  },
];

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function countByText(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

function describeReason(reason: unknown): string {
  if (!(reason instanceof Error)) return String(reason);
  return reason.cause instanceof Error
    ? `${reason.message}: ${reason.cause.message}`
    : reason.message;
}

function countBy(values: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return counts;
}

async function readFileBytes(file: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(file));
}
