// What a YOLO model is, read from the model itself: the ONNX header's metadata_props (written by
// Ultralytics' exporter: names, task, imgsz, kpt_shape…) and the input / output shapes the
// runtime reports. Nothing about 640 px, 80 classes or 8400 anchors is assumed.
import { ModelHeaderProto } from './onnx/onnx-schema';

/** Key/value metadata of an ONNX model (metadata_props). */
export type ModelMetadata = ReadonlyMap<string, string>;

/** The header of an ONNX file, or a reason it is not one. */
export type OnnxHeader =
  | { readonly ok: true; readonly metadata: ModelMetadata; readonly producer: string }
  | { readonly ok: false; readonly reason: string };

/** Reads an ONNX file's metadata without decoding its graph. */
export function readOnnxHeader(bytes: Uint8Array): OnnxHeader {
  let decoded: Record<string, unknown>;
  try {
    decoded = ModelHeaderProto.toObject(ModelHeaderProto.decode(bytes), {
      longs: Number,
      bytes: Array,
    });
  } catch (error) {
    return { ok: false, reason: `not a protobuf message (${(error as Error).message})` };
  }
  const graph = decoded.graph as ArrayLike<number> | undefined;
  const irVersion = decoded.irVersion as number | undefined;
  if (!graph || graph.length === 0 || !irVersion) {
    return { ok: false, reason: 'no ir_version or graph: not an ONNX model' };
  }
  const metadata = new Map<string, string>();
  for (const entry of (decoded.metadataProps ?? []) as { key?: string; value?: string }[]) {
    if (entry.key !== undefined) metadata.set(entry.key, entry.value ?? '');
  }
  return { ok: true, metadata, producer: (decoded.producerName as string | undefined) ?? '' };
}

/**
 * Class names from Ultralytics' `names` metadata, a Python dict literal such as
 * `{0: 'person', 1: "o'clock"}`. Returns undefined when absent or unparseable.
 */
export function parseClassNames(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names: string[] = [];
  const entry = /(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g;
  for (const match of value.matchAll(entry)) {
    const raw = match[2] ?? match[3] ?? '';
    names[Number(match[1])] = raw.replace(/\\(.)/g, '$1');
  }
  if (names.length === 0) return undefined;
  // A sparse dict would leave holes; name them rather than crash on undefined later.
  return Array.from({ length: names.length }, (_, i) => names[i] ?? `class_${i}`);
}

/** A list of integers written as `[17, 3]` or `(640, 640)`; undefined if not one. */
export function parseIntList(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*[[(]\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*[\])]\s*$/.exec(value);
  if (!match?.[1]) return undefined;
  return match[1].split(',').map((n) => Number(n.trim()));
}

/** Labels file contents: one class name per line, blank lines ignored. */
export function parseLabels(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** A tensor as the runtime describes it; a dimension is a number or a symbolic name. */
export interface TensorInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** Everything the detector needs to know about a model, or why it cannot run it. */
export interface YoloModelSpec {
  readonly inputName: string;
  readonly outputName: string;
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** undefined when the batch axis is dynamic. */
  readonly fixedBatch: number | undefined;
  readonly task: 'detect' | 'pose';
  readonly channels: number;
  readonly anchors: number;
  readonly classNames: readonly string[];
  readonly keypoints?: { readonly count: number; readonly dims: 2 | 3 };
}

/** Interprets a model's metadata and tensor shapes; `problem` explains what is wrong if not YOLO. */
export function yoloModelSpec(
  inputs: readonly TensorInfo[],
  outputs: readonly TensorInfo[],
  metadata: ModelMetadata,
  labels: readonly string[] | undefined,
): { spec: YoloModelSpec; problem?: undefined } | { spec?: undefined; problem: string } {
  const input = inputs[0];
  if (inputs.length !== 1 || !input) {
    return { problem: `expected one image input, found ${inputs.length}` };
  }
  if (input.type !== 'float32' || input.shape.length !== 4 || input.shape[1] !== 3) {
    return {
      problem: `input "${input.name}" is ${input.type} [${input.shape.join(', ')}], expected float32 [N, 3, H, W]`,
    };
  }
  const imgsz = parseIntList(metadata.get('imgsz'));
  const inputHeight = typeof input.shape[2] === 'number' ? input.shape[2] : imgsz?.[0];
  const inputWidth =
    typeof input.shape[3] === 'number' ? input.shape[3] : (imgsz?.[1] ?? imgsz?.[0]);
  if (!inputHeight || !inputWidth) {
    return {
      problem: `input "${input.name}" has dynamic height/width and the model has no imgsz metadata; export it with a fixed imgsz`,
    };
  }
  const fixedBatch = typeof input.shape[0] === 'number' ? input.shape[0] : undefined;

  const output = outputs[0];
  const task = metadata.get('task');
  if (task !== undefined && task !== 'detect' && task !== 'pose') {
    return { problem: `task "${task}" is not supported (detect and pose are)` };
  }
  if (output?.type !== 'float32' || output.shape.length !== 3) {
    const seen = output ? `${output.type} [${output.shape.join(', ')}]` : 'no output';
    return {
      problem: `first output is ${seen}, expected float32 [N, 4 + classes (+ keypoints), anchors] (Ultralytics YOLOv8/YOLO11 layout)`,
    };
  }
  const [, channels, anchors] = output.shape;
  if (typeof channels !== 'number' || typeof anchors !== 'number') {
    return {
      problem: `output "${output.name}" [${output.shape.join(', ')}] has dynamic channels or anchors; export with a fixed imgsz`,
    };
  }
  if (metadata.get('end2end') === 'True' || (channels > anchors && anchors <= 7)) {
    return {
      problem: `output "${output.name}" [${output.shape.join(', ')}] is an end-to-end (NMS inside) export; export with nms=False`,
    };
  }
  if (channels < 5 || channels > anchors) {
    return {
      problem: `output "${output.name}" [${output.shape.join(', ')}] is not [N, 4 + classes, anchors] (a YOLOv5-style [N, anchors, 5 + classes] output is not supported)`,
    };
  }

  const names = parseClassNames(metadata.get('names')) ?? labels;
  const kptShape = parseIntList(metadata.get('kpt_shape'));
  let numClasses: number;
  let keypoints: YoloModelSpec['keypoints'];
  if (task === 'pose' || kptShape) {
    const count = kptShape?.[0];
    const dims = kptShape?.[1];
    if (!count || (dims !== 2 && dims !== 3)) {
      return { problem: 'pose model without a usable kpt_shape metadata entry (e.g. "[17, 3]")' };
    }
    numClasses = channels - 4 - count * dims;
    keypoints = { count, dims };
  } else if (names) {
    numClasses = names.length;
    const rest = channels - 4 - numClasses;
    // Without task metadata a pose model shows itself by channels left over after the classes.
    if (rest > 0 && rest % 3 === 0) keypoints = { count: rest / 3, dims: 3 };
    else if (rest !== 0) {
      return {
        problem: `output has ${channels} channels but ${numClasses} class names: expected ${4 + numClasses} (detect)`,
      };
    }
  } else {
    numClasses = channels - 4;
  }
  if (numClasses < 1) {
    return {
      problem: `output "${output.name}" [${output.shape.join(', ')}] leaves no class scores`,
    };
  }
  if (names && names.length !== numClasses) {
    return {
      problem: `the model has ${numClasses} classes but ${names.length} class names`,
    };
  }
  const classNames = names ?? Array.from({ length: numClasses }, (_, i) => `class_${i}`);
  return {
    spec: {
      inputName: input.name,
      outputName: output.name,
      inputWidth,
      inputHeight,
      fixedBatch,
      task: keypoints ? 'pose' : 'detect',
      channels,
      anchors,
      classNames,
      ...(keypoints ? { keypoints } : {}),
    },
  };
}
