// A small client for framewise's HTTP API as a user sees it: multipart uploads, video status,
// the SSE progress stream and the paginated detections, over Node's own fetch.
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';

/** Progress counts as the API reports them. */
export interface ApiProgress {
  readonly expected: number | null;
  readonly extracted: number;
  readonly detected: number | null;
  readonly failed: number | null;
}

/** The fields of a video resource the suites read. */
export interface ApiVideo {
  readonly id: string;
  readonly status: string;
  readonly sampling: string;
  readonly model: string;
  readonly progress: ApiProgress;
  readonly error: unknown;
}

export interface ApiDetection {
  readonly class: string;
  readonly classId: number;
  readonly score: number;
  /** `[x1, y1, x2, y2]` in original pixels. */
  readonly box: readonly [number, number, number, number];
}

export interface ApiFrameDetections {
  readonly frame_index: number;
  readonly time_ms: number;
  readonly recorded_at: string | null;
  readonly detections: readonly ApiDetection[];
}

/** One message of `GET /v1/videos/:id/events`. */
export interface ProgressEvent {
  readonly event: string;
  readonly data: {
    readonly id: string;
    readonly status: string;
    readonly progress: ApiProgress;
    readonly error: unknown;
  };
}

/** A response whose body was read: status, headers, and the body as text and (maybe) JSON. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

/** Final statuses of a video (it changes no more). */
export const FINAL_STATUSES = ['completed', 'completed_with_errors', 'failed', 'canceled'];

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  /** Any request under the API, authenticated unless `headers.authorization` says otherwise. */
  async request(
    path: string,
    init: {
      method?: string;
      headers?: Record<string, string>;
      body?: FormData | string;
      /** Abort the request (a network error) after this long. Default: no limit. */
      timeoutMs?: number;
    } = {},
  ): Promise<ApiResponse> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${this.apiKey}`, ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(init.timeoutMs) }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** Uploads a file as `POST /v1/videos` with the given form fields; returns the raw answer. */
  async upload(
    file: string,
    fields: Record<string, string> = {},
    headers: Record<string, string> = {},
    timeoutMs?: number,
  ): Promise<ApiResponse> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', await openAsBlob(file), basename(file));
    return this.request('/v1/videos', {
      method: 'POST',
      body: form,
      headers,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  /** Uploads and expects 202; returns the accepted video. */
  async uploadAccepted(file: string, fields: Record<string, string> = {}): Promise<ApiVideo> {
    const response = await this.upload(file, fields);
    if (response.status !== 202) {
      throw new Error(`upload of ${file} answered ${response.status}: ${response.text}`);
    }
    return response.json as ApiVideo;
  }

  async video(id: string): Promise<ApiVideo> {
    const response = await this.request(`/v1/videos/${id}`);
    if (response.status !== 200) {
      throw new Error(`GET video ${id} answered ${response.status}: ${response.text}`);
    }
    return response.json as ApiVideo;
  }

  /** Polls until the video reaches a final status or `timeoutMs` passes (then throws). */
  async waitFinal(id: string, timeoutMs: number, pollMs = 250): Promise<ApiVideo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const video = await this.video(id);
      if (FINAL_STATUSES.includes(video.status)) return video;
      if (Date.now() > deadline) {
        throw new Error(
          `video ${id} still ${video.status} after ${timeoutMs} ms: ${JSON.stringify(video.progress)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * Every page of `GET /v1/videos/:id/detections` with `limit` per page, following
   * `next_cursor`; also returns how many pages it took.
   */
  async allDetections(
    id: string,
    limit: number,
    filters: Record<string, string> = {},
  ): Promise<{ readonly items: ApiFrameDetections[]; readonly pages: number }> {
    const items: ApiFrameDetections[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({
        ...filters,
        limit: String(limit),
        ...(cursor === null ? {} : { cursor }),
      });
      const response = await this.request(`/v1/videos/${id}/detections?${query.toString()}`);
      if (response.status !== 200) {
        throw new Error(`detections page ${pages} answered ${response.status}: ${response.text}`);
      }
      const page = response.json as { items: ApiFrameDetections[]; next_cursor: string | null };
      items.push(...page.items);
      cursor = page.next_cursor;
      pages += 1;
      if (pages > 10_000) throw new Error('detections pagination does not end');
    } while (cursor !== null);
    return { items, pages };
  }

  /**
   * Reads `GET /v1/videos/:id/events` until the server sends `done` and closes, or `timeoutMs`
   * passes (then aborts and throws with what arrived).
   */
  async events(id: string, timeoutMs: number): Promise<ProgressEvent[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
    }, timeoutMs);
    const events: ProgressEvent[] = [];
    try {
      const response = await fetch(new URL(`/v1/videos/${id}/events`, this.baseUrl), {
        headers: { authorization: `Bearer ${this.apiKey}`, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      if (response.status !== 200 || !response.body) {
        throw new Error(`events answered ${response.status}: ${await response.text()}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = parseSseMessage(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (message) events.push(message);
        }
      }
      return events;
    } catch (error) {
      if (controller.signal.aborted) {
        throw new Error(
          `events of ${id} did not end within ${timeoutMs} ms; got ${JSON.stringify(events)}`,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One SSE message (`event:` and `data:` lines); comments (`: keep-alive`) give undefined. */
export function parseSseMessage(block: string): ProgressEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  return { event, data: JSON.parse(data.join('\n')) as ProgressEvent['data'] };
}
