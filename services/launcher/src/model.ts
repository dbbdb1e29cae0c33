import fs from 'node:fs';
import path from 'node:path';
import { resolveModelFile, writeRedSquareModel } from '@framewise/detector';

/**
 * The model `npm start` downloads when none is configured: Ultralytics YOLOv8n trained on
 * COCO (80 classes), dynamically int8-quantized, exported to ONNX (about 3.5 MB), from a public
 * GitHub repository pinned to one commit; the sha256 is checked before it is used.
 */
export const DEFAULT_MODEL = {
  url: 'https://raw.githubusercontent.com/Lamri-Meriem/edge-object-detection/a6844ef947be6d0dd3aeafcf4cac6f3d01806e10/yolov8n_int8.onnx',
  sha256: '83de8f0d2cd521e00ae2b138c340a03dece35b060b3898509bdc69afff417312',
  description: 'YOLOv8n (COCO, int8 ONNX; AGPL-3.0)',
} as const;

/** Where the model comes from, decided from flags and environment before any work. */
export type ModelChoice =
  | { readonly kind: 'test' }
  | { readonly kind: 'path'; readonly path: string; readonly from: string }
  | {
      readonly kind: 'download';
      readonly url: string;
      readonly sha256: string;
      /** False when MODEL_DOWNLOAD=false: only an earlier download in the cache is used. */
      readonly online: boolean;
    };

export interface ModelInputs {
  readonly flagModel?: string | undefined;
  readonly testModel: boolean;
  readonly MODEL_PATH?: string | undefined;
  readonly WORKER_MODEL_PATH?: string | undefined;
  readonly MODEL_URL?: string | undefined;
  readonly MODEL_SHA256?: string | undefined;
  readonly MODEL_DOWNLOAD: boolean;
}

/** `--test-model`, then `--model`, MODEL_PATH, WORKER_MODEL_PATH, then a download. */
export function chooseModel(inputs: ModelInputs): ModelChoice {
  if (inputs.testModel) return { kind: 'test' };
  const given: [string, string | undefined][] = [
    ['--model', inputs.flagModel],
    ['MODEL_PATH', inputs.MODEL_PATH],
    ['WORKER_MODEL_PATH', inputs.WORKER_MODEL_PATH],
  ];
  for (const [from, file] of given) {
    if (file !== undefined) return { kind: 'path', path: path.resolve(file), from };
  }
  if ((inputs.MODEL_URL === undefined) !== (inputs.MODEL_SHA256 === undefined)) {
    throw new ModelUnavailableError(
      'MODEL_URL and MODEL_SHA256 go together: set both (a download is never used unchecked), or neither for the default model.',
    );
  }
  return {
    kind: 'download',
    url: inputs.MODEL_URL ?? DEFAULT_MODEL.url,
    sha256: inputs.MODEL_SHA256 ?? DEFAULT_MODEL.sha256,
    online: inputs.MODEL_DOWNLOAD,
  };
}

/** No usable model; the message says exactly what to do. */
export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
}

/** What to do when there is no model, after `reason`. */
export function modelHelp(reason: string): string {
  return `npm start needs a YOLO object-detection model in ONNX format, and has none: ${reason}

Do one of these:
  1. Export YOLOv8n with Ultralytics (Python 3.8+):
       pip install ultralytics
       yolo export model=yolov8n.pt format=onnx      # downloads yolov8n.pt, writes yolov8n.onnx
       MODEL_PATH=$PWD/yolov8n.onnx npm start
  2. Use an ONNX model you already have (YOLOv8 / YOLO11 detect or pose):
       MODEL_PATH=/path/to/model.onnx npm start
     (with the team's test fixtures: MODEL_PATH=../shared/fixtures/models/yolov8n-int8.onnx npm start)
  3. When online, let npm start download ${DEFAULT_MODEL.description} (sha256-checked):
       npm start            (MODEL_DOWNLOAD must not be false)
  4. Only to see the system run, without real detections:
       npm start -- --test-model     # a self-made model that finds solid red rectangles`;
}

/** A model file for the workers, and a one-line description for the banner. */
export async function obtainModel(
  choice: ModelChoice,
  modelsDir: string,
): Promise<{ readonly path: string; readonly description: string }> {
  switch (choice.kind) {
    case 'test': {
      const file = await writeRedSquareModel(path.join(modelsDir, 'red-square.onnx'));
      return { path: file, description: 'red-square test model (finds solid red rectangles)' };
    }
    case 'path': {
      if (!fs.existsSync(choice.path)) {
        throw new ModelUnavailableError(
          modelHelp(`${choice.from} names ${choice.path}, which does not exist.`),
        );
      }
      return { path: choice.path, description: choice.path };
    }
    case 'download': {
      const cached = path.join(modelsDir, `${choice.sha256.toLowerCase()}.onnx`);
      if (!choice.online && !fs.existsSync(cached)) {
        throw new ModelUnavailableError(
          modelHelp('no model path is set and MODEL_DOWNLOAD=false forbids the download.'),
        );
      }
      try {
        const file = await resolveModelFile({
          url: choice.url,
          sha256: choice.sha256,
          cacheDir: modelsDir,
        });
        const description =
          choice.url === DEFAULT_MODEL.url ? DEFAULT_MODEL.description : choice.url;
        return { path: file, description: `${description}, ${file}` };
      } catch (error) {
        throw new ModelUnavailableError(
          modelHelp(`no model path is set, and the download failed: ${(error as Error).message}`),
        );
      }
    }
  }
}
