/** One frame of GET /v1/videos/:id/detections. */
export interface FrameDetections {
  readonly frame_index: number;
  readonly detections: readonly { readonly class: string; readonly score: number }[];
}

export interface ClassSummary {
  readonly className: string;
  readonly detections: number;
  /** Frames with at least one detection of the class. */
  readonly frames: number;
  readonly maxPerFrame: number;
  readonly bestScore: number;
}

/** Per-class counts over the frames, most detections first (ties: by name). */
export function summarize(frames: readonly FrameDetections[]): ClassSummary[] {
  const byClass = new Map<
    string,
    { detections: number; frames: number; maxPerFrame: number; bestScore: number }
  >();
  for (const frame of frames) {
    const perFrame = new Map<string, number>();
    for (const d of frame.detections) {
      perFrame.set(d.class, (perFrame.get(d.class) ?? 0) + 1);
      const entry = byClass.get(d.class) ?? {
        detections: 0,
        frames: 0,
        maxPerFrame: 0,
        bestScore: 0,
      };
      entry.detections += 1;
      entry.bestScore = Math.max(entry.bestScore, d.score);
      byClass.set(d.class, entry);
    }
    for (const [name, count] of perFrame) {
      const entry = byClass.get(name);
      if (entry === undefined) continue;
      entry.frames += 1;
      entry.maxPerFrame = Math.max(entry.maxPerFrame, count);
    }
  }
  return [...byClass.entries()]
    .map(([className, e]) => ({ className, ...e }))
    .sort((a, b) => b.detections - a.detections || a.className.localeCompare(b.className));
}

/** A text table of the summary over `frameCount` analysed frames. */
export function summaryTable(rows: readonly ClassSummary[], frameCount: number): string {
  if (rows.length === 0) return `No objects detected in ${frameCount} analysed frame(s).`;
  const header = ['class', 'detections', 'frames', 'max/frame', 'best score'];
  const body = rows.map((r) => [
    r.className,
    String(r.detections),
    `${r.frames}/${frameCount}`,
    String(r.maxPerFrame),
    r.bestScore.toFixed(2),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
