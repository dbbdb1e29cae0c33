// Every error @framewise/detector throws on purpose. Each message says what to do about it.

/** Base class: lets callers tell detector problems from everything else. */
export class DetectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The model could not be loaded: missing file, not ONNX, outputs that are not YOLO-shaped, a
 * provider that cannot run it. Raised by {@link OnnxYoloDetector.load}, never at the first frame.
 */
export class ModelLoadError extends DetectorError {
  constructor(
    message: string,
    /** The model file or URL concerned. */
    readonly model: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Downloading a model failed, or what arrived does not match the configured sha256. */
export class ModelDownloadError extends DetectorError {
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An inference run did not finish within the detector's `runTimeoutMs` (a hung GPU, a driver
 * that stopped answering). The detector is unusable from then on, and so is the process: a
 * thread stuck inside onnxruntime cannot be stopped, and Node waits for it when the process
 * exits, so only a SIGKILL ends such a process. Restart it.
 */
export class DetectorHungError extends DetectorError {}

/** An image could not be decoded or has an unusable shape (e.g. raw data of the wrong size). */
export class ImageInputError extends DetectorError {}

/** The detector was used after {@link Detector.close}, or before it finished loading. */
export class DetectorClosedError extends DetectorError {}
