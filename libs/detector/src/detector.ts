// The Detector port: what the worker (and the CLI) need from object detection, independent of
// the runtime behind it. OnnxYoloDetector is the adapter for Ultralytics ONNX models.

/** An axis-aligned box in original-image pixels: (x1, y1) top-left, (x2, y2) bottom-right. */
export interface Box {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/** A pose keypoint in original-image pixels; `visibility` (0..1) when the model predicts it. */
export interface Keypoint {
  readonly x: number;
  readonly y: number;
  readonly visibility?: number;
}

/** One detected object. */
export interface Detection {
  /** The class name (from the model's metadata or the labels file). */
  readonly class: string;
  readonly classId: number;
  /** Confidence in 0..1. */
  readonly score: number;
  readonly box: Box;
  /** Pose models only, in the model's keypoint order. */
  readonly keypoints?: readonly Keypoint[];
}

/**
 * An image to run detection on: encoded bytes (JPEG, PNG, WebP… anything sharp decodes), or
 * raw interleaved RGB(A) pixels with their size.
 */
export type ImageInput =
  | Uint8Array
  | {
      readonly data: Uint8Array;
      readonly width: number;
      readonly height: number;
      /** 3 (RGB) or 4 (RGBA; alpha is dropped). */
      readonly channels: 3 | 4;
    };

/** Per-call thresholds; each defaults to the detector's configured value. */
export interface DetectOptions {
  /** Minimum class score to keep a candidate (Ultralytics `conf`, default 0.25). */
  readonly confidence?: number;
  /** IoU above which a lower-scored box of the same class is suppressed (`iou`, default 0.7). */
  readonly iou?: number;
  /** At most this many detections per image (`max_det`, default 300). */
  readonly maxDetections?: number;
}

/** What a loaded model is, as read from the model itself. */
export interface ModelDescription {
  readonly task: 'detect' | 'pose';
  /** Network input size in pixels (after letterbox). */
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Class names, index = classId. */
  readonly classNames: readonly string[];
  /** Candidate boxes per image (the output's last axis). */
  readonly anchors: number;
  /** Pose models: keypoints per object and values per keypoint (2 = x,y; 3 = x,y,visibility). */
  readonly keypoints?: { readonly count: number; readonly dims: 2 | 3 };
  /** Whether the batch axis is dynamic; if not, `batchSize` is the model's fixed batch. */
  readonly dynamicBatch: boolean;
  /** Images per inference call. */
  readonly batchSize: number;
  /** The execution provider actually running the model. */
  readonly provider: ExecutionProviderName;
}

/** One item of {@link Detector.detectMany}'s input: an image plus whatever the caller needs back. */
export interface DetectItem {
  readonly image: ImageInput;
  /**
   * The size of the picture `image` was scaled down from (a video frame stored at the model's
   * input size): boxes and keypoints come back in its pixels instead of the image's. Ignored
   * when the image does not have the source's shape.
   */
  readonly sourceSize?: { readonly width: number; readonly height: number };
}

/**
 * The result for one item of detectMany: detections, or why that image could not be used (an
 * ImageInputError: bad bytes, wrong raw size). Other failures end the stream with an error.
 */
export type DetectOutcome<T extends DetectItem> =
  | { readonly item: T; readonly detections: Detection[]; readonly error?: undefined }
  | { readonly item: T; readonly detections?: undefined; readonly error: Error };

/** Execution providers framewise knows how to ask onnxruntime for. */
export type ExecutionProviderName = 'cuda' | 'tensorrt' | 'cpu';

/** Object detection on images. */
export interface Detector {
  /** What the model is (available once loaded). */
  readonly model: ModelDescription;
  /** Detections for one image. */
  detect(image: ImageInput, options?: DetectOptions): Promise<Detection[]>;
  /** Detections for several images, in order; batched when the model allows it. */
  detectBatch(images: readonly ImageInput[], options?: DetectOptions): Promise<Detection[][]>;
  /**
   * Detections for a stream of items, yielded in input order, each with its item. While one
   * batch runs, the next is read and preprocessed, so decoding and resizing overlap inference.
   */
  detectMany<T extends DetectItem>(
    source: AsyncIterable<T> | Iterable<T>,
    options?: DetectOptions,
  ): AsyncGenerator<DetectOutcome<T>, void, undefined>;
  /** Releases the model. Further calls fail with DetectorClosedError. */
  close(): Promise<void>;
}
