import { parseArgs } from 'node:util';

export interface LauncherFlags {
  readonly workers?: number;
  readonly port?: number;
  readonly host?: string;
  readonly dataDir?: string;
  readonly model?: string;
  /** Use the self-made red-square test model (no download, no real detections). */
  readonly testModel: boolean;
  readonly help: boolean;
}

export const USAGE = `usage: npm start [-- options]

  --workers N      worker processes (default: one per two cores, at least 1; env WORKERS)
  --port P         API port (default 8080, 0 for any free port; env PORT)
  --host H         API address (default 127.0.0.1; env HOST)
  --data-dir DIR   where Redis, Postgres, frames and logs live (default .framewise; env FRAMEWISE_DATA_DIR)
  --model FILE     the YOLO ONNX model (env MODEL_PATH)
  --test-model     a self-made model that finds red rectangles: a smoke run without a real model
  --help           this text`;

/** Parses `npm start` flags; throws an Error saying what is wrong. */
export function parseLauncherArgs(argv: readonly string[]): LauncherFlags {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      workers: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      model: { type: 'string' },
      'test-model': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const whole = (name: string, raw: string | undefined, min: number, max: number) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const workers = whole('workers', values.workers, 1, 64);
  const port = whole('port', values.port, 0, 65535);
  if (values.model !== undefined && values['test-model']) {
    throw new Error('give either --model or --test-model, not both');
  }
  return {
    ...(workers === undefined ? {} : { workers }),
    ...(port === undefined ? {} : { port }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values.model === undefined ? {} : { model: values.model }),
    testModel: values['test-model'],
    help: values.help,
  };
}

/** Default worker count: one per two cores, at least one. */
export function defaultWorkers(cores: number): number {
  return Math.max(1, Math.floor(cores / 2));
}
