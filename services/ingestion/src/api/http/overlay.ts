import type sharpModule from 'sharp';
import type { Detection } from '@framewise/db';

/**
 * Draws each detection's box and "class score" label on a JPEG (sharp + an SVG layer). Boxes
 * are in the video's pixels (`source`, its upright size); a frame stored smaller (the
 * extractor's EXTRACT_FRAME_MAX_SIZE) gets them scaled to its own size.
 */
export async function overlayDetections(
  sharp: typeof sharpModule,
  jpeg: Buffer,
  detections: readonly Detection[],
  source?: { readonly width: number; readonly height: number },
): Promise<Buffer> {
  const image = sharp(jpeg);
  const { width, height } = await image.metadata();
  if (detections.length === 0 || width === 0) return jpeg;
  const sx = source ? width / source.width : 1;
  const sy = source ? height / source.height : 1;
  const shapes = detections
    .map((d) => {
      const [x1, y1, x2, y2] = [d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy];
      const label = `${escapeXml(d.class)} ${d.score.toFixed(2)}`;
      const ty = Math.max(12, y1 - 3);
      return (
        `<rect x="${x1}" y="${y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" ` +
        `fill="none" stroke="#00ff66" stroke-width="2"/>` +
        `<text x="${x1 + 2}" y="${ty}" font-family="sans-serif" font-size="12" fill="#00ff66">${label}</text>`
      );
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}</svg>`;
  return image
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
