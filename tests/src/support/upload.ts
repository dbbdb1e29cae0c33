// Uploads a video over the public HTTP API, as a client that survives a restarting system
// would: the same Idempotency-Key on every retry, so a retry never makes a second video.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface UploadRequest {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly file: string;
  /** The API's sampling syntax (`all`, `fps:5`, `every:2`). */
  readonly sampling: string;
  readonly idempotencyKey: string;
}

export interface UploadOutcome {
  readonly videoId: string;
  readonly attempts: number;
}

/** A refusal that a retry cannot fix (4xx other than 408/409/429). */
export class UploadRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`upload refused with HTTP ${status}: ${body.slice(0, 500)}`);
    this.name = 'UploadRefusedError';
  }
}

/** One attempt. Resolves with the new (or idempotently returned) video id. */
export async function uploadVideo(request: UploadRequest): Promise<string> {
  const bytes = await readFile(request.file);
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'video/mp4' }), path.basename(request.file));
  form.append('sampling', request.sampling);
  const response = await fetch(`${request.apiUrl}/v1/videos`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${request.apiKey}`,
      'idempotency-key': request.idempotencyKey,
    },
    body: form,
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.text();
  if (response.status === 202 || response.status === 200 || response.status === 201) {
    const parsed = JSON.parse(body) as { id?: unknown };
    if (typeof parsed.id !== 'string') throw new Error(`upload answered without an id: ${body}`);
    return parsed.id;
  }
  const retryable = response.status >= 500 || [408, 409, 429].includes(response.status);
  if (!retryable) throw new UploadRefusedError(response.status, body);
  throw new Error(`upload answered HTTP ${response.status}: ${body.slice(0, 300)}`);
}

/**
 * Retries {@link uploadVideo} on network errors and retryable answers (5xx, 408, 409 while
 * an identical upload is in progress, 429) until `deadline` (a `Date.now()` value).
 */
export async function uploadWithRetry(
  request: UploadRequest,
  deadline: number,
  onRetry?: (attempt: number, error: unknown) => void,
): Promise<UploadOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { videoId: await uploadVideo(request), attempts: attempt };
    } catch (error) {
      if (error instanceof UploadRefusedError || Date.now() > deadline) throw error;
      onRetry?.(attempt, error);
      await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)));
    }
  }
}
