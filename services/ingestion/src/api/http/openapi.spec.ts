import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { openApiDocument, openApiRoutes } from './openapi';

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and describes every route with the routes own schemas', () => {
    const doc = openApiDocument() as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/v1/videos',
      '/v1/videos/{id}',
      '/v1/videos/{id}/detections',
      '/v1/videos/{id}/events',
      '/v1/videos/{id}/frames/{index}',
    ]);
    const text = JSON.stringify(doc);
    for (const field of ['recorded_at', 'sampling', 'min_score', 'cursor', 'results']) {
      expect(text).toContain(field);
    }
    expect(JSON.parse(text)).toEqual(doc); // serializable
  });

  it('lists 401 and 503 (API key not checkable) for every operation behind the key guard', () => {
    const doc = openApiDocument() as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect([path, method, Object.keys(operation.responses)]).toEqual([
          path,
          method,
          expect.arrayContaining(['401', '503']),
        ]);
      }
    }
  });
});

describe('/docs', () => {
  const app = express().use(openApiRoutes());
  const packageDir = dirname(require.resolve('swagger-ui-dist/package.json'));

  it('is served with its renderer from this server, referencing no other host', async () => {
    const page = await request(app).get('/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    const refs = [...page.text.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
    expect(refs).toEqual(
      expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/init.js']),
    );
    // every reference is a path on this server: no scheme, no protocol-relative host
    for (const ref of refs) expect(ref).toMatch(/^\/[^/]/);
    expect(page.text).not.toMatch(/https?:|\/\//);

    for (const ref of refs) {
      const asset = await request(app).get(ref).responseType('blob').expect(200);
      if (ref.startsWith('/docs/assets/')) {
        const onDisk = await readFile(join(packageDir, ref.slice('/docs/assets/'.length)));
        expect(Buffer.compare(asset.body as Buffer, onDisk)).toBe(0);
      }
    }
    const script = await request(app).get('/docs/assets/swagger-ui-bundle.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.headers['content-length']).toBe(
      String((await readFile(join(packageDir, 'swagger-ui-bundle.js'))).length),
    );
  });

  it('points the renderer at /openapi.json and turns off the remote validator', async () => {
    const init = await request(app).get('/docs/init.js').expect(200);
    expect(init.text).toContain("url: '/openapi.json'");
    expect(init.text).toContain('validatorUrl: null');
    expect(init.text).not.toMatch(/https?:/);
    await request(app).get('/openapi.json').expect(200);
  });

  it('serves only the listed asset files', async () => {
    await request(app).get('/docs/assets/package.json').expect(404);
    await request(app).get('/docs/assets/..%2Fpackage.json').expect(404);
    await request(app).get('/docs/assets/%2e%2e%2f%2e%2e%2fpackage.json').expect(404);
  });
});
