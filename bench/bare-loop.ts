// One bare `session.run` loop in a process of its own, for bench:worker's real-model baseline.
// onnxruntime-node's `session.run` occupies the JavaScript thread while it runs, so two loops
// in ONE process take turns instead of running side by side; a worker is a process, so its
// baseline must be too.
//
// Usage: node --import tsx bench/bare-loop.ts <model.onnx> <intra-op threads> <seconds>
// Protocol: prints `ready` once the session is loaded and warmed up, waits for a line on
// stdin (the parent starts every loop at once), runs for <seconds>, then prints one JSON line
// { runs, seconds, cpuMs } (cpuMs: this process's CPU over the loop, all its threads) and exits.
import readline from 'node:readline';
import * as ort from 'onnxruntime-node';

async function main(): Promise<void> {
  const [modelPath, threadsArg, secondsArg] = process.argv.slice(2);
  const threads = Number(threadsArg);
  const seconds = Number(secondsArg);
  if (modelPath === undefined || !(threads >= 1) || !(seconds > 0)) {
    throw new Error('usage: bare-loop.ts <model.onnx> <intra-op threads> <seconds>');
  }
  // The session options the worker's detector opens its session with (libs/detector
  // providers.ts): the baseline is the same session, minus everything around it.
  const session = await ort.InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
    extra: { session: { 'intra_op.allow_spinning': '0' } },
  });
  const tensor = new ort.Tensor(
    'float32',
    new Float32Array(3 * 640 * 640).fill(0.5),
    [1, 3, 640, 640],
  );
  const feeds = { [session.inputNames[0] ?? 'images']: tensor };
  await session.run(feeds); // warm-up
  process.stdout.write('ready\n');
  const lines = readline.createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    lines.once('line', () => {
      resolve();
    });
  });
  lines.close();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let runs = 0;
  while (performance.now() - start < seconds * 1000) {
    await session.run(feeds);
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await session.release();
  process.stdout.write(
    `${JSON.stringify({ runs, seconds: elapsed, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
