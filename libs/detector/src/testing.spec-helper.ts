// Helpers shared by the detector's tests (not part of the build).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from './detector';
import type { DetectorLogger } from './onnx-yolo-detector';

/** A rectangle to paint, in image pixels. */
export interface Rect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** An RGB image with solid red rectangles on a `background`; JPEG, PNG or raw pixels. */
export async function redSquaresImage(
  width: number,
  height: number,
  rects: readonly Rect[],
  format: 'jpeg' | 'png' | 'raw',
  background = { r: 40, g: 120, b: 200 },
): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background } }).composite(
    rects.map((r) => ({
      input: {
        create: {
          width: r.width,
          height: r.height,
          channels: 3,
          background: { r: 255, g: 0, b: 0 },
        },
      },
      left: r.left,
      top: r.top,
    })),
  );
  if (format === 'raw') return image.removeAlpha().raw().toBuffer();
  return format === 'jpeg' ? image.jpeg({ quality: 92 }).toBuffer() : image.png().toBuffer();
}

/** The box a rectangle should be detected as. */
export function boxOf(r: Rect): Box {
  return { x1: r.left, y1: r.top, x2: r.left + r.width, y2: r.top + r.height };
}

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  const area = (x: Box) => (x.x2 - x.x1) * (x.y2 - x.y1);
  return inter / (area(a) + area(b) - inter);
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `framewise-${prefix}-`));
  return {
    dir,
    cleanup: () => {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A logger that remembers its lines. */
export function recordingLogger(): DetectorLogger & {
  lines: { level: string; message: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', message, fields }),
    warn: (fields, message) => lines.push({ level: 'warn', message, fields }),
  };
}

/**
 * The shared fixtures folder (`<repo>/../shared/fixtures`, or `override`, from
 * FRAMEWISE_FIXTURES), or undefined when it is not there.
 */
export function fixturesDir(override: string | undefined): string | undefined {
  const repoRoot = path.resolve(__dirname, '../../..');
  const dir = override ?? path.resolve(repoRoot, '../shared/fixtures');
  return fs.existsSync(path.join(dir, 'models', 'yolov8n-int8.onnx')) ? dir : undefined;
}
