// Post-processing of Ultralytics YOLOv8 / YOLO11 raw outputs, as Ultralytics' non_max_suppression
// does it (single best class per anchor, score > conf, class-wise greedy NMS with IoU > iou
// suppressing, at most max_det kept, at most max_nms candidates considered), then boxes and
// keypoints mapped back to original pixels. Works on typed arrays with scratch space allocated
// once per detector: nothing is allocated per anchor, only per kept detection.
import type { Detection, Keypoint } from './detector';
import type { LetterboxGeometry } from './letterbox';
import { unletterboxX, unletterboxY } from './letterbox';

/** The layout of one output tensor [N, channels, anchors]. */
export interface OutputLayout {
  /** 4 box values + numClasses scores (+ keypoints.count × keypoints.dims for pose). */
  readonly channels: number;
  readonly anchors: number;
  readonly numClasses: number;
  readonly keypoints?: { readonly count: number; readonly dims: 2 | 3 };
}

/** Thresholds for one decode. */
export interface DecodeThresholds {
  readonly confidence: number;
  readonly iou: number;
  readonly maxDetections: number;
  /** Candidates considered by NMS, best first (Ultralytics max_nms). */
  readonly maxCandidates: number;
}

/**
 * Greedy class-wise NMS over `count` candidates already sorted best first.
 * `boxes` holds x1,y1,x2,y2 per candidate (in sorted order). Writes the kept candidate positions
 * to `keep` and returns how many were kept (at most `maxKeep`). `suppressed` is scratch space of
 * at least `count` bytes.
 */
export function nmsClasswise(
  boxes: Float32Array,
  classes: Int32Array,
  count: number,
  iouThreshold: number,
  maxKeep: number,
  keep: Int32Array,
  suppressed: Uint8Array,
): number {
  suppressed.fill(0, 0, count);
  let kept = 0;
  for (let i = 0; i < count && kept < maxKeep; i++) {
    if (suppressed[i] === 1) continue;
    keep[kept++] = i;
    const cls = classes[i];
    const ax1 = boxes[4 * i] ?? 0;
    const ay1 = boxes[4 * i + 1] ?? 0;
    const ax2 = boxes[4 * i + 2] ?? 0;
    const ay2 = boxes[4 * i + 3] ?? 0;
    const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
    for (let j = i + 1; j < count; j++) {
      if (suppressed[j] === 1 || classes[j] !== cls) continue;
      const bx1 = boxes[4 * j] ?? 0;
      const by1 = boxes[4 * j + 1] ?? 0;
      const bx2 = boxes[4 * j + 2] ?? 0;
      const by2 = boxes[4 * j + 3] ?? 0;
      const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const areaB = Math.max(0, bx2 - bx1) * Math.max(0, by2 - by1);
      if (inter / (areaA + areaB - inter) > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}

/** Decodes raw outputs of one model; one instance per detector, reused for every image. */
export class YoloDecoder {
  private readonly bestScore: Float32Array;
  private readonly bestClass: Int32Array;
  private readonly order: Uint32Array;
  private readonly boxes: Float32Array;
  private readonly classes: Int32Array;
  private readonly keep: Int32Array;
  private readonly suppressed: Uint8Array;

  constructor(
    readonly layout: OutputLayout,
    private readonly classNames: readonly string[],
  ) {
    const { anchors } = layout;
    this.bestScore = new Float32Array(anchors);
    this.bestClass = new Int32Array(anchors);
    this.order = new Uint32Array(anchors);
    this.boxes = new Float32Array(anchors * 4);
    this.classes = new Int32Array(anchors);
    this.keep = new Int32Array(anchors);
    this.suppressed = new Uint8Array(anchors);
  }

  /**
   * Detections of image `index` of a batch output (`output` = the whole [N, C, A] tensor data),
   * in original pixels of the image whose letterbox is `geometry`.
   */
  decode(
    output: Float32Array,
    index: number,
    geometry: LetterboxGeometry,
    thresholds: DecodeThresholds,
  ): Detection[] {
    const { channels, anchors: A, numClasses, keypoints } = this.layout;
    const base = index * channels * A;
    const best = this.bestScore;
    const bestClass = this.bestClass;

    // Best class per anchor among the scores above the threshold, walking the tensor row by
    // row (class-major) so reads are sequential. Nearly every score is below the threshold, so
    // the first comparison is almost never true and the branch is predicted; an anchor whose
    // best score is not above it ends with class -1 (not a candidate). The best class is the
    // first of equal maxima, as argmax gives. The threshold is compared as float32, as torch
    // compares a float32 tensor with a Python float: a score of exactly 0.3f is not above 0.3.
    const confidence = Math.fround(thresholds.confidence);
    best.fill(-Infinity);
    bestClass.fill(-1);
    for (let c = 0; c < numClasses; c++) {
      const row = base + (4 + c) * A;
      for (let a = 0; a < A; a++) {
        const v = output[row + a] ?? 0;
        if (v > confidence && v > (best[a] ?? 0)) {
          best[a] = v;
          bestClass[a] = c;
        }
      }
    }

    let count = 0;
    const order = this.order;
    for (let a = 0; a < A; a++) {
      if ((bestClass[a] ?? -1) >= 0) order[count++] = a;
    }
    if (count === 0) return [];
    const sorted = order.subarray(0, count).sort((i, j) => (best[j] ?? 0) - (best[i] ?? 0));
    count = Math.min(count, thresholds.maxCandidates);

    // cx, cy, w, h → x1, y1, x2, y2 for the candidates, in sorted order.
    const boxes = this.boxes;
    const classes = this.classes;
    for (let k = 0; k < count; k++) {
      const a = sorted[k] ?? 0;
      const cx = output[base + a] ?? 0;
      const cy = output[base + A + a] ?? 0;
      const hw = (output[base + 2 * A + a] ?? 0) / 2;
      const hh = (output[base + 3 * A + a] ?? 0) / 2;
      boxes[4 * k] = cx - hw;
      boxes[4 * k + 1] = cy - hh;
      boxes[4 * k + 2] = cx + hw;
      boxes[4 * k + 3] = cy + hh;
      classes[k] = bestClass[a] ?? 0;
    }

    const kept = nmsClasswise(
      boxes,
      classes,
      count,
      thresholds.iou,
      thresholds.maxDetections,
      this.keep,
      this.suppressed,
    );

    const detections: Detection[] = [];
    for (let n = 0; n < kept; n++) {
      const k = this.keep[n] ?? 0;
      const a = sorted[k] ?? 0;
      const classId = classes[k] ?? 0;
      const detection: Detection = {
        class: this.classNames[classId] ?? `class_${classId}`,
        classId,
        score: best[a] ?? 0,
        box: {
          x1: unletterboxX(geometry, boxes[4 * k] ?? 0),
          y1: unletterboxY(geometry, boxes[4 * k + 1] ?? 0),
          x2: unletterboxX(geometry, boxes[4 * k + 2] ?? 0),
          y2: unletterboxY(geometry, boxes[4 * k + 3] ?? 0),
        },
      };
      detections.push(
        keypoints
          ? { ...detection, keypoints: this.keypointsOf(output, base, a, geometry, keypoints) }
          : detection,
      );
    }
    return detections;
  }

  private keypointsOf(
    output: Float32Array,
    base: number,
    anchor: number,
    geometry: LetterboxGeometry,
    shape: { readonly count: number; readonly dims: 2 | 3 },
  ): Keypoint[] {
    const A = this.layout.anchors;
    const first = base + (4 + this.layout.numClasses) * A + anchor;
    const points: Keypoint[] = [];
    for (let p = 0; p < shape.count; p++) {
      const at = first + p * shape.dims * A;
      const x = unletterboxX(geometry, output[at] ?? 0);
      const y = unletterboxY(geometry, output[at + A] ?? 0);
      points.push(shape.dims === 3 ? { x, y, visibility: output[at + 2 * A] ?? 0 } : { x, y });
    }
    return points;
  }
}
