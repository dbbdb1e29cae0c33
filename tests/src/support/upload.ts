// Uploads a video over the public HTTP API, as a client that survives a restarting system
// would: the same Idempotency-Key on every retry, so a retry never makes a second video.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from './api-client';

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
  const response = await new ApiClient(request.apiUrl, request.apiKey).upload(
    request.file,
    { sampling: request.sampling },
    { 'idempotency-key': request.idempotencyKey },
    30_000,
  );
  const { status, text: body } = response;
  if (status === 202 || status === 200 || status === 201) {
    const id = (response.json as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') throw new Error(`upload answered without an id: ${body}`);
    return id;
  }
  const retryable = status >= 500 || [408, 409, 429].includes(status);
  if (!retryable) throw new UploadRefusedError(status, body);
  throw new Error(`upload answered HTTP ${status}: ${body.slice(0, 300)}`);
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
