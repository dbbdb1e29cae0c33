import { spawn } from 'node:child_process';
import type { VideoProbe } from '@framewise/db';

/** What ffprobe says about a file, or why it is not a usable video. */
export type ProbeOutcome =
  | { readonly ok: true; readonly probe: VideoProbe; readonly frames?: number }
  | {
      readonly ok: false;
      readonly reason: 'undecodable' | 'no_video_stream';
      readonly message: string;
    };

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  /** Older ffprobe builds report a rotated stream here (degrees, as a string). */
  tags?: { rotate?: string };
  /** Newer ones in the display matrix side data (degrees, counter-clockwise). */
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string; format_name?: string };
}

/**
 * Runs ffprobe on a file (or URL) and reads its first video stream. A file ffprobe cannot parse
 * (truncated, not media) is `undecodable`; media without a video stream is `no_video_stream`.
 * Throws only when ffprobe itself cannot run or exceeds `timeoutMs`.
 */
export async function probeVideo(
  ffprobe: string,
  input: string,
  options: { timeoutMs?: number } = {},
): Promise<ProbeOutcome> {
  const { code, stdout, stderr } = await run(
    ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', input],
    options.timeoutMs ?? 30_000,
  );
  if (code !== 0) {
    return { ok: false, reason: 'undecodable', message: firstLine(stderr) || 'ffprobe failed' };
  }
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(stdout) as FfprobeOutput;
  } catch {
    return { ok: false, reason: 'undecodable', message: 'ffprobe gave no readable answer' };
  }
  return interpretProbe(parsed);
}

/** The pure part of {@link probeVideo}: ffprobe's JSON → the video's metadata. */
export function interpretProbe(output: FfprobeOutput): ProbeOutcome {
  // Still images (png, mjpeg "video" of one frame) report a video stream but no duration.
  const video = output.streams?.find(
    (s) => s.codec_type === 'video' && s.codec_name !== 'png' && s.codec_name !== 'mjpeg',
  );
  if (!video) {
    return { ok: false, reason: 'no_video_stream', message: 'the file has no video stream' };
  }
  // ffmpeg rotates frames upright while decoding (autorotate), so the frames and every box on
  // them are in display orientation: a phone video coded 1920x1080 with a 90° display matrix
  // has 1080x1920 frames. Record the size people see, the one frames and results are in.
  const quarterTurn = Math.abs(Math.round(rotationOf(video) / 90)) % 2 === 1;
  const width = (quarterTurn ? video.height : video.width) ?? 0;
  const height = (quarterTurn ? video.width : video.height) ?? 0;
  const fps = rate(video.avg_frame_rate) ?? rate(video.r_frame_rate) ?? 0;
  const durationS = Number(video.duration ?? output.format?.duration ?? NaN);
  if (!(width > 0 && height > 0 && fps > 0 && durationS > 0)) {
    return {
      ok: false,
      reason: 'undecodable',
      message: 'the video stream has no usable size, frame rate or duration',
    };
  }
  const frames = Number(video.nb_frames);
  return {
    ok: true,
    probe: { durationS, fps, width, height, codec: video.codec_name ?? 'unknown' },
    ...(Number.isInteger(frames) && frames > 0 ? { frames } : {}),
  };
}

/** The stream's display rotation in degrees (0 when it has none). */
function rotationOf(stream: FfprobeStream): number {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix');
  const degrees = matrix?.rotation ?? Number(stream.tags?.rotate ?? 0);
  return Number.isFinite(degrees) ? degrees : 0;
}

function rate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const [num, den] = value.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num) || num <= 0) return undefined;
  const r = den === undefined ? num : num / den;
  return Number.isFinite(r) && r > 0 ? r : undefined;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) ?? '';
}

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 10_000) stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
