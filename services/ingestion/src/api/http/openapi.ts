import { dirname, join } from 'node:path';
import express, { type Router } from 'express';
import { z } from 'zod';
import { VIDEO_STATUSES } from '@framewise/contracts';
import {
  DeleteQuery,
  DetectionsQuery,
  FrameQuery,
  ListVideosQuery,
  UploadFields,
} from './videos.routes';

const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string().describe('Stable machine-readable error code'),
  errorId: z.string().describe('Also logged by the API with the error'),
  instance: z.string(),
});

const Progress = z.object({
  expected: z.number().int().nullable(),
  extracted: z.number().int(),
  detected: z.number().int().nullable(),
  failed: z.number().int().nullable(),
});

const Video = z.object({
  id: z.uuid(),
  status: z.enum(VIDEO_STATUSES),
  filename: z.string(),
  size_bytes: z.number().int(),
  camera: z.string().nullable(),
  recorded_at: z.string().nullable(),
  sampling: z.string().describe('fps:<rate>, every:<n> or all'),
  model: z.string(),
  probe: z
    .object({
      duration_s: z.number(),
      fps: z.number(),
      width: z.number().int(),
      height: z.number().int(),
      codec: z.string(),
    })
    .nullable(),
  progress: Progress,
  timings: z.record(z.string(), z.string().nullable()),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  links: z.record(z.string(), z.string()),
});

const Detections = z.object({
  items: z.array(
    z.object({
      frame_index: z.number().int(),
      time_ms: z.number().int(),
      recorded_at: z.string().nullable(),
      detections: z.array(
        z.object({
          class: z.string(),
          classId: z.number().int(),
          score: z.number(),
          box: z.array(z.number()).describe('[x1, y1, x2, y2] in original pixels'),
        }),
      ),
    }),
  ),
  next_cursor: z.string().nullable(),
});

const json = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });

function queryParameters(schema: z.ZodObject) {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: false,
    schema: json(field as z.ZodType),
  }));
}

const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: 'problem',
        content: { 'application/problem+json': { schema: json(Problem) } },
      },
    ]),
  );

const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'framewise ingestion API', version: '1' },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/videos': {
        post: {
          summary: 'Upload a video',
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  ...json(UploadFields),
                  properties: {
                    ...(json(UploadFields).properties as Record<string, unknown>),
                    file: { type: 'string', format: 'binary' },
                  },
                  required: ['file'],
                },
              },
            },
          },
          responses: {
            '202': {
              description: 'accepted',
              content: { 'application/json': { schema: json(Video) } },
            },
            ...problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
          },
        },
        get: {
          summary: 'List videos (newest first)',
          parameters: queryParameters(ListVideosQuery),
          responses: {
            '200': {
              description: 'a page',
              content: {
                'application/json': {
                  schema: json(
                    z.object({ items: z.array(Video), next_cursor: z.string().nullable() }),
                  ),
                },
              },
            },
            ...problems(400, 401, 429, 503),
          },
        },
      },
      '/v1/videos/{id}': {
        get: {
          summary: 'A video with its progress',
          parameters: [idParam],
          responses: {
            '200': {
              description: 'the video',
              content: { 'application/json': { schema: json(Video) } },
            },
            ...problems(401, 404, 503),
          },
        },
        delete: {
          summary: 'Cancel a video and delete its files (results kept unless results=delete)',
          parameters: [idParam, ...queryParameters(DeleteQuery)],
          responses: {
            '200': {
              description: 'canceled',
              content: { 'application/json': { schema: json(Video) } },
            },
            '204': { description: 'deleted with its results' },
            ...problems(401, 404, 503),
          },
        },
      },
      '/v1/videos/{id}/events': {
        get: {
          summary: 'Server-Sent Events: progress and status until the video finishes',
          parameters: [idParam],
          responses: {
            '200': { description: 'event stream', content: { 'text/event-stream': {} } },
            ...problems(401, 404, 503),
          },
        },
      },
      '/v1/videos/{id}/detections': {
        get: {
          summary: 'Detections per frame',
          parameters: [idParam, ...queryParameters(DetectionsQuery)],
          responses: {
            '200': {
              description: 'a page',
              content: { 'application/json': { schema: json(Detections) } },
            },
            ...problems(400, 401, 404, 503),
          },
        },
      },
      '/v1/videos/{id}/frames/{index}': {
        get: {
          summary:
            'A frame as JPEG, as stored (at most EXTRACT_FRAME_MAX_SIZE px, 640 by default); ' +
            'overlay=1 draws the detections (given in video pixels) scaled to it',
          parameters: [
            idParam,
            { name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
            ...queryParameters(FrameQuery),
          ],
          responses: {
            '200': { description: 'JPEG', content: { 'image/jpeg': {} } },
            ...problems(401, 404, 503),
          },
        },
      },
    },
  };
}

/**
 * The Swagger UI files /docs serves, from the installed (pinned) swagger-ui-dist package, so the
 * page works without internet access. Only these names are served, never the package directory.
 */
const DOCS_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>framewise API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

// A file rather than an inline script, so the page's Content-Security-Policy can forbid inline
// scripts. validatorUrl: null stops Swagger UI from sending the document to validator.swagger.io.
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
});
`;

/**
 * Only this origin: a page or asset that tried to load anything from another host would be
 * refused by the browser (Swagger UI needs inline styles and data: images).
 */
const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Directory of the installed swagger-ui-dist package. */
function swaggerUiDir(): string {
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** /openapi.json and /docs (Swagger UI, served from the installed package: works offline). */
export function openApiRoutes(): Router {
  const document = openApiDocument();
  const assetsDir = swaggerUiDir();
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('html').send(DOCS_PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('text/javascript').send(DOCS_INIT);
  });
  router.get('/docs/assets/:name', (req, res, next) => {
    const name = req.params.name;
    const type = DOCS_ASSETS[name];
    if (type === undefined) {
      next();
      return;
    }
    // The package version is pinned, so an asset never changes under its URL for a release.
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.type(type).sendFile(join(assetsDir, name), (error?: Error) => {
      if (error) next(error);
    });
  });
  return router;
}
