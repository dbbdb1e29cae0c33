// A tiny hand-built ONNX model with the YOLOv8 output layout whose detections are an exact,
// documented function of the image: it finds solid red axis-aligned rectangles. Tests across
// framewise (and ffmpeg lavfi videos of moving red squares) get ground truth without downloaded
// weights. The graph is built from plain ONNX operators and written with protobufjs.
//
// How it works, per image (all in network-input pixels, after the letterbox):
//  1. mask m = R > 0.5 and G < 0.5 and B < 0.5 (channel values in 0..1; the midpoint
//     thresholds put anti-aliased / chroma-blurred edges at their half-way point).
//  2. For every pixel, the red run through it along its row and its column: the last non-red
//     pixel to the left is a prefix maximum of (not m)·(x+1), computed in log2(width) steps of
//     max(t, t shifted by 1, 2, 4…) (a Hillis–Steele scan); likewise to the right, up and down.
//     That gives x1, x2 (exclusive), y1, y2 (exclusive) of the rectangle containing the pixel.
//  3. Output channels per pixel: cx, cy, w, h, score = m (1 on red, 0 elsewhere) [, pose: the
//     four corners x1y1, x2y1, x2y2, x1y2 with visibility m], sampled every `stride` pixels from
//     stride/2 (the anchors), reshaped to [N, C, anchors].
import fs from 'node:fs';
import path from 'node:path';
import { ModelProto, OnnxAttributeType, OnnxDataType } from '../onnx/onnx-schema';

/** What the red-square model detects; see the README for the full contract. */
export const RED_SQUARE_MODEL = {
  /** A pixel is red when R > minRed, G < maxGreen and B < maxBlue (values 0..1). */
  minRed: 0.5,
  maxGreen: 0.5,
  maxBlue: 0.5,
  /** Score of every detection. */
  score: 1,
  className: 'red_square',
  /** Corner keypoints of the pose variant, in this order. */
  keypointOrder: ['top-left', 'top-right', 'bottom-right', 'bottom-left'],
} as const;

/** Shape of the generated model. */
export interface RedSquareModelOptions {
  /** Network input size in pixels: one number for square, or width and height. Default 320. */
  readonly inputSize?: number | { readonly width: number; readonly height: number };
  /** Anchor spacing: a rectangle is found when it covers at least one anchor. Default 8. */
  readonly stride?: number;
  /** A fixed batch size; omitted = dynamic batch axis. */
  readonly batch?: number;
  /** `pose` adds the four corners as keypoints (kpt_shape [4, 3]). Default `detect`. */
  readonly task?: 'detect' | 'pose';
  /** Leave out the Ultralytics metadata (names, task, imgsz…) to test fallbacks. Default true. */
  readonly metadata?: boolean;
  /**
   * A model that breaks on real input: it loads and warms up (on gray), but a run whose batch
   * has a red pixel fails inside onnxruntime (the output is added to zeros of one anchor more
   * than there are). For testing what happens when the detector itself fails, not an image.
   * Default false.
   */
  readonly failsOnRed?: boolean;
}

interface Attribute {
  name: string;
  type: number;
  i?: number;
}

/** Collects nodes and constants; names are generated. */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  private counter = 0;

  floats(dims: number[], values: ArrayLike<number>): string {
    const name = `c${this.counter++}`;
    const data = Float32Array.from(values);
    this.initializers.push({
      name,
      dims,
      dataType: OnnxDataType.FLOAT,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  ints(values: number[]): string {
    const name = `c${this.counter++}`;
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: OnnxDataType.INT64,
      int64Data: values,
    });
    return name;
  }

  op(opType: string, inputs: string[], attribute: Attribute[] = []): string {
    const output = `t${this.counter++}`;
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return output;
  }
}

/** The red-square model as ONNX bytes. */
export function buildRedSquareModel(options: RedSquareModelOptions = {}): Uint8Array {
  const size = options.inputSize ?? 320;
  const W = typeof size === 'number' ? size : size.width;
  const H = typeof size === 'number' ? size : size.height;
  const stride = options.stride ?? 8;
  const task = options.task ?? 'detect';
  if (!(W >= stride && H >= stride && stride >= 1)) {
    throw new RangeError(
      `input ${W}x${H} must be at least one stride (${stride}) in each direction`,
    );
  }
  const g = new GraphBuilder();
  const channel = (c: number): string =>
    g.op('Slice', ['images', g.ints([c]), g.ints([c + 1]), g.ints([1])]);
  const scalar = (v: number): string => g.floats([], [v]);

  // 1. Red mask, 1.0 / 0.0, shape [N, 1, H, W].
  const redOk = g.op('Greater', [channel(0), scalar(RED_SQUARE_MODEL.minRed)]);
  const greenOk = g.op('Less', [channel(1), scalar(RED_SQUARE_MODEL.maxGreen)]);
  const blueOk = g.op('Less', [channel(2), scalar(RED_SQUARE_MODEL.maxBlue)]);
  const red = g.op('And', [g.op('And', [redOk, greenOk]), blueOk]);
  const m = g.op(
    'Cast',
    [red],
    [{ name: 'to', type: OnnxAttributeType.INT, i: OnnxDataType.FLOAT }],
  );
  const notRed = g.op('Sub', [scalar(1), m]);

  // 2. Scans. A non-red pixel at column x is marked x+1 (for the left scan) or W-x (right scan);
  //    the running maximum then encodes the nearest non-red pixel on that side.
  const ramp = (n: number, f: (i: number) => number): number[] =>
    Array.from({ length: n }, (_, i) => f(i));
  const cols = (f: (x: number) => number): string => g.floats([1, 1, 1, W], ramp(W, f));
  const rows = (f: (y: number) => number): string => g.floats([1, 1, H, 1], ramp(H, f));
  const scan = (start: string, length: number, vertical: boolean, forward: boolean): string => {
    const axis = vertical ? 2 : 3;
    let t = start;
    for (let d = 1; d < length; d *= 2) {
      // t = max(t, t shifted by d towards the scan direction), the shifted copy filled with
      // zeros (neutral: marks are ≥ 1). Pad + Slice rather than a padded MaxPool: onnxruntime
      // requires pads < kernel, and fuses a Pad into a following MaxPool.
      const pads = [0, 0, 0, 0, 0, 0, 0, 0]; // begins of N, C, H, W, then ends
      pads[forward ? axis : axis + 4] = d;
      const padded = g.op('Pad', [t, g.ints(pads), scalar(0)]);
      const from = forward ? 0 : d;
      const shifted = g.op('Slice', [
        padded,
        g.ints([from]),
        g.ints([from + length]),
        g.ints([axis]),
      ]);
      t = g.op('Max', [t, shifted]);
    }
    return t;
  };
  const x1 = scan(g.op('Mul', [notRed, cols((x) => x + 1)]), W, false, true);
  const x2 = g.op('Sub', [
    scalar(W),
    scan(g.op('Mul', [notRed, cols((x) => W - x)]), W, false, false),
  ]);
  const y1 = scan(g.op('Mul', [notRed, rows((y) => y + 1)]), H, true, true);
  const y2 = g.op('Sub', [
    scalar(H),
    scan(g.op('Mul', [notRed, rows((y) => H - y)]), H, true, false),
  ]);

  // 3. YOLOv8 channels, anchors sampled on a stride grid, [N, C, anchors].
  const half = scalar(0.5);
  const parts = [
    g.op('Mul', [g.op('Add', [x1, x2]), half]),
    g.op('Mul', [g.op('Add', [y1, y2]), half]),
    g.op('Sub', [x2, x1]),
    g.op('Sub', [y2, y1]),
    m,
  ];
  if (task === 'pose') {
    for (const [x, y] of [
      [x1, y1],
      [x2, y1],
      [x2, y2],
      [x1, y2],
    ] as const) {
      parts.push(x, y, m);
    }
  }
  const channels = parts.length;
  const all = g.op('Concat', parts, [{ name: 'axis', type: OnnxAttributeType.INT, i: 1 }]);
  const offset = Math.floor(stride / 2);
  const sampled = g.op('Slice', [
    all,
    g.ints([offset, offset]),
    g.ints([H, W]),
    g.ints([2, 3]),
    g.ints([stride, stride]),
  ]);
  const anchors = Math.ceil((H - offset) / stride) * Math.ceil((W - offset) / stride);
  let output = g.op('Reshape', [sampled, g.ints([0, channels, -1])]);
  if (options.failsOnRed) {
    // output + zeros of shape [anchors + (any red pixel in the batch ? 1 : 0)]: a broadcast that
    // only fails at run time, on red (a data-dependent Reshape is optimized away by onnxruntime).
    const anyRed = g.op(
      'Cast',
      [g.op('Reshape', [g.op('ReduceMax', [m]), g.ints([1])])],
      [{ name: 'to', type: OnnxAttributeType.INT, i: OnnxDataType.INT64 }],
    );
    const zeros = g.op('ConstantOfShape', [g.op('Add', [g.ints([anchors]), anyRed])]);
    output = g.op('Add', [output, zeros]);
  }
  g.nodes.push({ opType: 'Identity', input: [output], output: ['output0'], name: 'output0' });

  const batchDim =
    options.batch !== undefined ? { dimValue: options.batch } : { dimParam: 'batch' };
  const tensorType = (dims: object[]): object => ({
    tensorType: { elemType: OnnxDataType.FLOAT, shape: { dim: dims } },
  });
  const metadata: Record<string, string> = {
    description: 'framewise red-square test model: finds solid red rectangles',
    author: 'framewise',
    task,
    names: `{0: '${RED_SQUARE_MODEL.className}'}`,
    imgsz: `[${H}, ${W}]`,
    stride: String(stride),
    batch: String(options.batch ?? 1),
    ...(task === 'pose' ? { kpt_shape: '[4, 3]' } : {}),
  };
  const model = ModelProto.create({
    irVersion: 8,
    producerName: 'framewise',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'red_square',
      node: g.nodes,
      initializer: g.initializers,
      input: [
        {
          name: 'images',
          type: tensorType([batchDim, { dimValue: 3 }, { dimValue: H }, { dimValue: W }]),
        },
      ],
      output: [
        {
          name: 'output0',
          type: tensorType([batchDim, { dimValue: channels }, { dimValue: anchors }]),
        },
      ],
    },
    metadataProps:
      options.metadata === false
        ? []
        : Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return ModelProto.encode(model).finish();
}

/** Writes the red-square model to `file` (creating its folder) and returns the path. */
export async function writeRedSquareModel(
  file: string,
  options: RedSquareModelOptions = {},
): Promise<string> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await fs.promises.writeFile(file, buildRedSquareModel(options));
  return file;
}
