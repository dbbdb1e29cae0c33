import type { Sampling, VideoProbe } from '@framewise/db';

/** Bounds on what a client may ask for; the API takes them from its config. */
export interface SamplingLimits {
  readonly maxFps: number;
  readonly maxEveryNth: number;
}

/**
 * Parses the `sampling` form field: `fps:<rate>` (frames per second, decimals allowed),
 * `every:<n>` (every n-th source frame) or `all` (every frame). Returns an error message
 * instead of throwing, so the caller can list it with the other field problems.
 */
export function parseSampling(
  value: string,
  limits: SamplingLimits,
): { ok: true; sampling: Sampling } | { ok: false; message: string } {
  const text = value.trim().toLowerCase();
  if (text === 'all') return { ok: true, sampling: { kind: 'all' } };
  const fps = /^fps:(\d+(?:\.\d+)?)$/.exec(text);
  if (fps) {
    const rate = Number(fps[1]);
    if (!(rate >= 0.01 && rate <= limits.maxFps)) {
      return { ok: false, message: `fps must be between 0.01 and ${limits.maxFps}` };
    }
    return { ok: true, sampling: { kind: 'fps', fps: rate } };
  }
  const every = /^every:(\d+)$/.exec(text);
  if (every) {
    const n = Number(every[1]);
    if (!(n >= 1 && n <= limits.maxEveryNth)) {
      return { ok: false, message: `every must be between 1 and ${limits.maxEveryNth}` };
    }
    return { ok: true, sampling: { kind: 'everyNth', n } };
  }
  return { ok: false, message: 'expected fps:<rate>, every:<n> or all' };
}

/** The sampling as the API shows it (the same syntax the upload accepts). */
export function formatSampling(sampling: Sampling): string {
  switch (sampling.kind) {
    case 'all':
      return 'all';
    case 'fps':
      return `fps:${sampling.fps}`;
    case 'everyNth':
      return `every:${sampling.n}`;
  }
}

/** The ffmpeg video filter for a sampling, or undefined for every frame. */
export function samplingFilter(sampling: Sampling): string | undefined {
  switch (sampling.kind) {
    case 'all':
      return undefined;
    case 'fps':
      return `fps=${sampling.fps}`;
    case 'everyNth':
      // Escaped comma: inside a filter graph a bare comma separates filters.
      return `select=not(mod(n\\,${sampling.n}))`;
  }
}

/**
 * Where frame `index` sits in the video, in ms. With `fps=N` ffmpeg's fps filter emits frame
 * i at i/N s (it picks the source frame nearest that instant), so that is its time. Every-n-th
 * and all-frame sampling keep source frames, so frame i is source frame i·n at the source's
 * (probed, average) frame rate: exact for constant-frame-rate video, an approximation for VFR.
 */
export function frameTimeMs(sampling: Sampling, sourceFps: number, index: number): number {
  switch (sampling.kind) {
    case 'fps':
      return (index * 1000) / sampling.fps;
    case 'everyNth':
      return (index * sampling.n * 1000) / sourceFps;
    case 'all':
      return (index * 1000) / sourceFps;
  }
}

/** How many frames extraction should produce (an estimate until extraction ends). */
export function expectedFrames(sampling: Sampling, probe: VideoProbe, sourceFrames?: number) {
  const total = sourceFrames ?? Math.max(1, Math.round(probe.durationS * probe.fps));
  switch (sampling.kind) {
    case 'fps':
      return Math.max(1, Math.round(probe.durationS * sampling.fps));
    case 'everyNth':
      return Math.ceil(total / sampling.n);
    case 'all':
      return total;
  }
}
