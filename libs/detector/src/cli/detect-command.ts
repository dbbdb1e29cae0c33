// `framewise detect`: run a model over an image or a folder of images and print the detections.
// Useful to users trying a model, and a hand check of the library.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Detection, ExecutionProviderName } from '../detector';
import { DetectorError } from '../errors';
import { parseLabels } from '../model-info';
import { OnnxYoloDetector } from '../onnx-yolo-detector';

/** Where the CLI writes; tests and main.ts pass the process streams. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const USAGE = `Usage: framewise detect --model <file.onnx> <image or folder> [options]

Options:
  --model <file>        Ultralytics YOLOv8/YOLO11 ONNX model (detect or pose)      (required)
  --conf <0..1>         confidence threshold                                 (default 0.25)
  --iou <0..1>          NMS IoU threshold                                     (default 0.7)
  --max-det <n>         at most n detections per image                        (default 300)
  --labels <file>       class names, one per line, for models without 'names' metadata
  --provider <list>     execution providers in order of preference, e.g. cuda,cpu (default cpu)
  --threads <n>         onnxruntime intra-op threads
  --json                print JSON: [{ file, width, height, detections: [{ class, classId,
                        score, box: { x1, y1, x2, y2 } }] }] (box in original pixels)
  -h, --help            show this help
`;

const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.tif',
  '.tiff',
  '.gif',
  '.avif',
]);
const PROVIDERS: readonly ExecutionProviderName[] = ['cuda', 'tensorrt', 'cpu'];

class UsageError extends Error {}

function number(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number in ${min}..${max}, got "${value}"`);
  }
  return n;
}

function imageFiles(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new UsageError(`no such file or folder: ${target}`);
  }
  if (!stat.isDirectory()) return [target];
  const files = fs
    .readdirSync(target)
    .filter((name) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()))
    .sort()
    .map((name) => path.join(target, name));
  if (files.length === 0)
    throw new UsageError(`no images (${[...IMAGE_EXTENSIONS].join(' ')}) in ${target}`);
  return files;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

function rounded(d: Detection): Detection {
  return {
    ...d,
    score: Math.round(d.score * 10_000) / 10_000,
    box: { x1: round2(d.box.x1), y1: round2(d.box.y1), x2: round2(d.box.x2), y2: round2(d.box.y2) },
    ...(d.keypoints
      ? {
          keypoints: d.keypoints.map((k) => ({
            ...k,
            x: round2(k.x),
            y: round2(k.y),
            ...(k.visibility !== undefined ? { visibility: round2(k.visibility) } : {}),
          })),
        }
      : {}),
  };
}

/** Runs `framewise <argv>`; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    io.stdout(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'detect') {
    io.stderr(`framewise: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await detectCommand(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`framewise detect: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DetectorError) {
      io.stderr(`framewise detect: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function detectCommand(args: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        conf: { type: 'string' },
        iou: { type: 'string' },
        'max-det': { type: 'string' },
        labels: { type: 'string' },
        provider: { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (!values.model) throw new UsageError('--model is required');
  if (positionals.length !== 1 || !positionals[0]) {
    throw new UsageError('give exactly one image or folder');
  }
  const providers = (values.provider ?? 'cpu').split(',').map((p) => p.trim());
  for (const p of providers) {
    if (!PROVIDERS.includes(p as ExecutionProviderName)) {
      throw new UsageError(`--provider: unknown provider "${p}" (known: ${PROVIDERS.join(', ')})`);
    }
  }
  const files = imageFiles(positionals[0]);
  const labels = values.labels ? parseLabels(fs.readFileSync(values.labels, 'utf8')) : undefined;
  const threads = number(values.threads, 'threads', 1, 1024);

  const detector = await OnnxYoloDetector.load({
    model: { path: values.model },
    executionProviders: providers as ExecutionProviderName[],
    ...(labels ? { labels } : {}),
    ...(threads !== undefined ? { intraOpThreads: threads } : {}),
    logger: {
      info: () => undefined,
      // A fallback is worth telling a person about, on stderr so JSON stays clean.
      warn: (_fields, message) => {
        io.stderr(`framewise detect: ${message}\n`);
      },
    },
  });
  const options = {
    confidence: number(values.conf, 'conf', 0, 1),
    iou: number(values.iou, 'iou', 0, 1),
    maxDetections: number(values['max-det'], 'max-det', 1, 100_000),
  };
  const report: { file: string; detections: Detection[] }[] = [];
  let failures = 0;
  try {
    // Read files lazily: detectMany reads the next batch while the current one runs.
    const items = (function* () {
      for (const file of files) yield { file, image: fs.readFileSync(file) };
    })();
    for await (const outcome of detector.detectMany(items, options)) {
      if (outcome.error) {
        failures++;
        io.stderr(`framewise detect: ${outcome.item.file}: ${outcome.error.message}\n`);
        continue;
      }
      const detections = outcome.detections.map(rounded);
      report.push({ file: outcome.item.file, detections });
      if (!values.json) io.stdout(humanLine(outcome.item.file, detections));
    }
  } finally {
    await detector.close();
  }
  if (values.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  return failures > 0 ? 1 : 0;
}

function humanLine(file: string, detections: readonly Detection[]): string {
  const found = detections.map(
    (d) =>
      `  ${d.class} ${d.score.toFixed(2)} [${[d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => Math.round(v)).join(', ')}]`,
  );
  return `${file}: ${detections.length} detection(s)\n${found.join('\n')}${found.length ? '\n' : ''}`;
}
