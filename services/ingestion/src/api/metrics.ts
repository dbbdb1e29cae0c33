import { Counter, type Registry } from '@framewise/observability';

/** The API's own Prometheus series (HTTP metrics come from @framewise/observability). */
export interface ApiMetrics {
  readonly uploads: Counter;
  readonly uploadBytes: Counter;
  readonly rejections: Counter<'reason'>;
}

/** Registers the API's series. */
export function createApiMetrics(registry: Registry): ApiMetrics {
  return {
    uploads: new Counter({
      name: 'framewise_uploads_total',
      help: 'Uploads accepted (a video created).',
      registers: [registry],
    }),
    uploadBytes: new Counter({
      name: 'framewise_upload_bytes_total',
      help: 'Bytes of accepted uploads.',
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'framewise_upload_rejections_total',
      help: 'Uploads rejected, by problem code (file_too_large, unsupported_content, …).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
