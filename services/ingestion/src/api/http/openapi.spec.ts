import { openApiDocument } from './openapi';

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
});
