// `npm start`: the whole framewise system on this machine (see the README and USAGE).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '@framewise/config';
import type { Stack, StackStorage } from '@framewise/stack';
import { startStack } from '@framewise/stack';
import { banner } from './banner';
import { USAGE, defaultWorkers, parseLauncherArgs } from './cli';
import type { LauncherConfig } from './config';
import { forwardedServiceEnv, launcherConfigSchema } from './config';
import { consoleLine } from './log-lines';
import { ModelUnavailableError, chooseModel, obtainModel } from './model';
import { supervise } from './supervise';

const ROOT = path.resolve(__dirname, '../../..');

async function main(): Promise<number> {
  const flags = parseLauncherArgs(process.argv.slice(2));
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig(launcherConfigSchema, process.env, { service: 'launcher' });
  const dataDir = path.resolve(
    flags.dataDir ?? config.FRAMEWISE_DATA_DIR ?? path.join(ROOT, '.framewise'),
  );
  const workers = flags.workers ?? config.WORKERS ?? defaultWorkers(os.availableParallelism());
  fs.mkdirSync(dataDir, { recursive: true });

  const modelsDir = path.join(dataDir, 'models');
  const choice = chooseModel({ ...config, flagModel: flags.model, testModel: flags.testModel });
  if (choice.kind === 'download' && choice.online) {
    console.log(
      `framewise: model ${choice.url} (sha256 ${choice.sha256}), downloaded once into ${modelsDir}; MODEL_PATH=<file.onnx> uses your own`,
    );
  }
  const model = await obtainModel(choice, modelsDir);

  const apiPort = flags.port ?? config.PORT;
  const apiHost = flags.host ?? config.HOST;
  if (apiPort !== 0 && !(await portIsFree(apiHost, apiPort))) {
    throw new Error(
      `port ${apiPort} on ${apiHost} is in use (another npm start?). Stop that, or pick another port: npm start -- --port 9000 (0 for any free port).`,
    );
  }
  console.log(
    `framewise: starting Redis, Postgres, migrations, API and ${workers} worker(s) in ${dataDir} …`,
  );
  const started = Date.now();
  const stack = await startStack({
    dataDir,
    modelPath: model.path,
    workers,
    hostEnv: process.env,
    env: forwardedServiceEnv(process.env),
    apiPort,
    apiHost,
    storage: storageOf(config),
    onLog: (service, line) => {
      const shown = consoleLine(service, line);
      if (shown !== undefined) console.error(shown);
    },
  });
  const stateFile = path.join(dataDir, 'launcher.json');
  fs.writeFileSync(
    stateFile,
    `${JSON.stringify({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, pid: process.pid })}\n`,
    { mode: 0o600 },
  );
  console.log(
    banner({
      apiUrl: stack.apiUrl,
      apiKey: stack.apiKey,
      dataDir,
      model: model.description,
      counts: { api: 1, extractor: 1, worker: workers, reaper: 1 },
    }),
  );
  console.log(`(ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const supervisor = supervise(stack, {
    onExit: (name, code, logFile) => {
      console.error(
        `[${name}] exited unexpectedly (${String(code)}); restarting it. Its log: ${logFile}`,
      );
    },
    onRestartFailed: (name, error) => {
      console.error(`[${name}] could not be restarted: ${error.message}`);
    },
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`\n${signal} again: killing everything now.`);
        // The stack's exit hook SIGKILLs every process it started.
        process.exit(130);
      }
      stopping = true;
      console.log(
        '\nframewise: stopping (services finish their work in hand, then Redis and Postgres) …',
      );
      void shutdown(stack, supervisor.stop, stateFile).then(
        () => {
          console.log('framewise: stopped. Data kept in', dataDir);
          resolve(0);
        },
        (error: unknown) => {
          console.error('framewise: stop failed:', error);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function shutdown(stack: Stack, stopSupervisor: () => void, stateFile: string) {
  stopSupervisor();
  fs.rmSync(stateFile, { force: true });
  await stack.stop();
}

function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, host, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

function storageOf(config: LauncherConfig): StackStorage {
  if (config.STORAGE_BACKEND === 'local') return { kind: 'local' };
  const missing = (
    ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const
  ).filter((name) => config[name] === undefined);
  if (missing.length > 0) {
    throw new Error(`STORAGE_BACKEND=s3 needs ${missing.join(', ')}`);
  }
  return {
    kind: 's3',
    endpoint: config.S3_ENDPOINT ?? '',
    bucket: config.S3_BUCKET ?? '',
    accessKeyId: config.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: config.S3_SECRET_ACCESS_KEY ?? '',
    region: config.S3_REGION,
  };
}

main().then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ModelUnavailableError || error instanceof ConfigError) {
      console.error(error.message);
    } else {
      console.error(
        `framewise: could not start: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    process.exit(1);
  },
);
