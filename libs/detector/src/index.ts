/**
 * @framewise/detector — object detection with Ultralytics YOLOv8 / YOLO11 ONNX models (detect and
 * pose) on onnxruntime-node:
 *
 * ```ts
 * const detector = await OnnxYoloDetector.load({ model: { path: 'yolov8n.onnx' }, logger });
 * const detections = await detector.detect(jpegBytes); // [{ class: 'person', classId: 0, score, box }]
 * ```
 *
 * Input size, batch axis, task, class names and anchor count come from the model itself.
 * {@link writeRedSquareModel} writes a tiny model with exactly known detections for tests.
 */
export type {
  Box,
  DetectItem,
  DetectOutcome,
  Detection,
  DetectOptions,
  Detector,
  ExecutionProviderName,
  ImageInput,
  Keypoint,
  ModelDescription,
} from './detector';
export {
  DetectorClosedError,
  DetectorError,
  DetectorHungError,
  ImageInputError,
  ModelDownloadError,
  ModelLoadError,
} from './errors';
export { OnnxYoloDetector } from './onnx-yolo-detector';
export { BatchReader, toAsyncIterator } from './batch-reader';
export type { DetectorLogger, DetectorStats, OnnxYoloDetectorOptions } from './onnx-yolo-detector';
export type { ModelSource } from './model-source';
export { resolveModelFile, sha256File } from './model-source';
export { letterboxGeometry, scaledToSource } from './letterbox';
export type { LetterboxGeometry } from './letterbox';
export { parseLabels } from './model-info';
export { setOnnxRuntimeLogLevel } from './providers';
export type { SessionSettings } from './providers';
export {
  buildRedSquareModel,
  writeRedSquareModel,
  RED_SQUARE_MODEL,
} from './test-model/red-square-model';
export type { RedSquareModelOptions } from './test-model/red-square-model';
