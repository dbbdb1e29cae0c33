import fs from 'node:fs';
import path from 'node:path';
import type { FrameDetections } from './summary';
import type { VideoView } from './progress';

/** The running API and a key for it. */
export interface ApiTarget {
  readonly apiUrl: string;
  readonly apiKey: string;
}

/**
 * FRAMEWISE_API_URL with FRAMEWISE_API_KEY when given, else what `npm start` wrote to
 * `<dataDir>/launcher.json` while it runs; undefined when neither exists.
 */
export function findApi(
  given: { readonly apiUrl?: string | undefined; readonly apiKey?: string | undefined },
  dataDir: string,
): ApiTarget | undefined {
  if (given.apiUrl !== undefined && given.apiKey !== undefined) {
    return { apiUrl: given.apiUrl.replace(/\/+$/, ''), apiKey: given.apiKey };
  }
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'launcher.json'), 'utf8')) as {
      apiUrl?: unknown;
      apiKey?: unknown;
    };
    if (typeof state.apiUrl === 'string' && typeof state.apiKey === 'string') {
      return { apiUrl: given.apiUrl ?? state.apiUrl, apiKey: given.apiKey ?? state.apiKey };
    }
  } catch {
    // not running
  }
  return undefined;
}

/** The few API calls the demo makes; errors carry the API's problem details. */
export class DemoClient {
  constructor(private readonly target: ApiTarget) {}

  async upload(file: string, sampling: string | undefined): Promise<VideoView> {
    const form = new FormData();
    form.set('file', await fs.openAsBlob(file), path.basename(file));
    if (sampling !== undefined) form.set('sampling', sampling);
    return this.request<VideoView>('/v1/videos', { method: 'POST', body: form });
  }

  video(id: string): Promise<VideoView> {
    return this.request<VideoView>(`/v1/videos/${encodeURIComponent(id)}`);
  }

  /** Every frame with its detections, page by page. */
  async allDetections(id: string): Promise<FrameDetections[]> {
    const frames: FrameDetections[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: { items: FrameDetections[]; next_cursor: string | null } = await this.request(
        `/v1/videos/${encodeURIComponent(id)}/detections?limit=1000${query}`,
      );
      frames.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return frames;
  }

  private async request<T>(route: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(`${this.target.apiUrl}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${this.target.apiKey}` },
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${init.method ?? 'GET'} ${route} answered ${response.status}: ${text}`);
    }
    return JSON.parse(text) as T;
  }
}
