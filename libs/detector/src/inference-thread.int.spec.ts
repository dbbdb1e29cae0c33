// The inference thread: runs leave the JS thread free, buffers travel both ways, failures are
// clear, and an idle detector does not keep a process alive.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DetectorError, DetectorHungError } from './errors';
import { InferenceThread } from './inference-thread';
import { buildRedSquareModel } from './test-model/red-square-model';
import { tempDir } from './testing.spec-helper';

const cpu = [{ provider: 'cpu', options: { executionProviders: ['cpu'] } }];
const SIZE = 320;
const dims = [1, 3, SIZE, SIZE];

function input(): ArrayBuffer {
  return new Float32Array(3 * SIZE * SIZE).fill(0.5).buffer;
}

/**
 * Runs a TypeScript program (tsx) in a child process; `source` gets the library's entry and a
 * temporary directory. Resolves with its exit code (null when killed after 30 s) and output.
 */
async function runProgram(
  source: (lib: string, dir: string) => string,
): Promise<{ code: number | null; out: string }> {
  const tmp = tempDir('thread-program');
  const script = path.join(tmp.dir, 'program.ts');
  fs.writeFileSync(script, source(JSON.stringify(path.join(__dirname, 'index.ts')), tmp.dir));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: path.join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 30_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  tmp.cleanup();
  return { code, out };
}

describe('InferenceThread', () => {
  it('runs off the JS thread, hands the input buffer back and transfers the output', async () => {
    const { thread, provider, inputs, outputs } = await InferenceThread.open(
      buildRedSquareModel({ inputSize: SIZE }),
      cpu,
    );
    expect(provider).toBe('cpu');
    expect(inputs[0]).toMatchObject({
      name: 'images',
      isTensor: true,
      shape: ['batch', 3, SIZE, SIZE],
    });
    const outputName = outputs[0]?.name ?? '';
    const buffer = input();
    const bytes = buffer.byteLength;

    // While the run is on its way, this thread keeps turning: with a synchronous session.run
    // on the JS thread, the run's continuation would come before any later setImmediate.
    let turns = 0;
    let running = true;
    const spin = (): void => {
      if (!running) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const run = thread.run({ inputName: 'images', outputName, input: buffer, dims });
    expect(buffer.byteLength).toBe(0); // transferred, not copied
    const result = await run;
    running = false;
    expect(turns).toBeGreaterThan(0);

    expect(result.input.byteLength).toBe(bytes);
    expect(result.dims[0]).toBe(1);
    expect(result.data.length).toBe(result.dims.reduce((a, b) => a * b, 1));
    expect(result.runMs).toBeGreaterThan(0);
    // The same buffer serves the next run.
    await thread.run({ inputName: 'images', outputName, input: result.input, dims });
    await thread.close();
  });

  /** A red-square thread, and a run of the standard input that may offer an output buffer. */
  async function offeringThread() {
    const { thread, outputs } = await InferenceThread.open(
      buildRedSquareModel({ inputSize: SIZE }),
      cpu,
    );
    const outputName = outputs[0]?.name ?? '';
    const run = (output?: ArrayBuffer, outputDims?: readonly number[]) =>
      thread.run({
        inputName: 'images',
        outputName,
        input: input(),
        dims,
        ...(output ? { output, outputDims } : {}),
      });
    return { thread, run };
  }

  it('writes the output into an offered buffer that is large enough, and drops one too small', async () => {
    const { thread, run } = await offeringThread();
    const fresh = await run();
    expect(fresh.reusedOutput).toBe(false);
    const expected = Array.from(fresh.data);
    expect(new Set(expected).size).toBeGreaterThan(1); // not a constant the garbage could match

    // Garbage in the offered buffer: only onnxruntime writing the whole output can clear it.
    const offered = new Float32Array(fresh.data.length).fill(-7).buffer;
    const running = run(offered, fresh.dims);
    expect(offered.byteLength).toBe(0); // transferred, not copied
    const reused = await running;
    expect(reused.reusedOutput).toBe(true);
    expect(reused.dims).toEqual(fresh.dims);
    expect(Array.from(reused.data)).toEqual(expected);

    // A buffer too small for the output (kept from a partial batch) is not used, and the
    // next one that fits is.
    const small = await run(new ArrayBuffer(16), fresh.dims);
    expect(small.reusedOutput).toBe(false);
    expect(Array.from(small.data)).toEqual(expected);
    expect((await run(small.data.buffer, small.dims)).reusedOutput).toBe(true);

    // A larger buffer (kept from a full batch, offered to a partial one) takes the output in
    // its first bytes and comes back whole; the bytes after the output are left as they were.
    const large = new Float32Array(fresh.data.length + 100).fill(-7).buffer;
    const partial = await run(large, fresh.dims);
    expect(partial.reusedOutput).toBe(true);
    expect(partial.data.byteOffset).toBe(0);
    expect(Array.from(partial.data)).toEqual(expected);
    expect(partial.data.buffer.byteLength).toBe((fresh.data.length + 100) * 4);
    expect(new Float32Array(partial.data.buffer, fresh.data.byteLength)[99]).toBe(-7);
    await thread.close();
  });

  it('runs without the offered buffer when onnxruntime refuses it, and stops offering it', async () => {
    const { thread, run } = await offeringThread();
    const fresh = await run();
    const [n = 0, channels = 0, anchors = 0] = fresh.dims;
    const expected = Array.from(fresh.data);
    // The right size in the wrong shape: onnxruntime rejects a preallocated output that does
    // not have the output's shape.
    const refused = await run(new ArrayBuffer(fresh.data.byteLength), [n, anchors, channels]);
    expect(refused.reusedOutput).toBe(false);
    expect(Array.from(refused.data)).toEqual(expected);
    // From then on, offers are declined even when they fit.
    const later = await run(new ArrayBuffer(fresh.data.byteLength), fresh.dims);
    expect(later.reusedOutput).toBe(false);
    expect(Array.from(later.data)).toEqual(expected);
    await thread.close();
  });

  it('rejects a bad run with onnxruntime’s reason and keeps serving; rejects after close', async () => {
    const { thread, outputs } = await InferenceThread.open(
      buildRedSquareModel({ inputSize: SIZE }),
      cpu,
    );
    const outputName = outputs[0]?.name ?? '';
    await expect(
      thread.run({ inputName: 'images', outputName, input: input(), dims: [1, 3, SIZE, 7] }),
    ).rejects.toThrow(/./);
    await expect(
      thread.run({ inputName: 'nope', outputName, input: input(), dims }),
    ).rejects.toThrow(/'images' is missing/);
    await thread.run({ inputName: 'images', outputName, input: input(), dims });
    await thread.close();
    await expect(
      thread.run({ inputName: 'images', outputName, input: input(), dims }),
    ).rejects.toThrow(DetectorError);
  });

  describe('the run timeout', () => {
    // A batch of 4 at 640: tens of milliseconds a run, far past a 1 ms timeout.
    const BIG = 640;
    const bigDims = [4, 3, BIG, BIG];
    async function bigThread() {
      const opened = await InferenceThread.open(buildRedSquareModel({ inputSize: BIG }), cpu);
      const outputName = opened.outputs[0]?.name ?? '';
      const run = () =>
        opened.thread.run({
          inputName: 'images',
          outputName,
          input: new Float32Array(4 * 3 * BIG * BIG).fill(0.5).buffer,
          dims: bigDims,
        });
      return { thread: opened.thread, run };
    }

    it('fails the thread for good when a run outlives it, and close() does not wait for the run', async () => {
      const { thread, run } = await bigThread();
      const first = await run(); // no timeout yet
      expect(first.runMs).toBeGreaterThan(1);
      thread.setRunTimeout(1);
      const runs = [run(), run()];
      for (const pending of runs) {
        await expect(pending).rejects.toThrow(DetectorHungError);
      }
      await expect(runs[0]).rejects.toThrow(
        /longer than the run timeout \(1 ms\).*Restart the process/,
      );
      expect(thread.hung).toBe(true);
      await expect(run()).rejects.toThrow(DetectorHungError);
      await thread.close();
    });

    it('does not trip while runs finish in time, nor while the thread is idle', async () => {
      const { thread, run } = await bigThread();
      thread.setRunTimeout(60_000);
      await Promise.all([run(), run(), run()]);
      thread.setRunTimeout(20);
      await new Promise((r) => setTimeout(r, 200)); // idle: nothing is due
      expect(thread.hung).toBe(false);
      thread.setRunTimeout(0);
      await run();
      expect(thread.hung).toBe(false);
      await thread.close();
    });
  });

  it('tries the session options in order and reports why it skipped one', async () => {
    const { provider, skipped } = await InferenceThread.open(
      buildRedSquareModel({ inputSize: 64 }),
      [{ provider: 'cuda', options: { executionProviders: [{ name: 'cuda' }, 'cpu'] } }, ...cpu],
    );
    expect(provider).toBe('cpu');
    expect(skipped).toEqual([{ provider: 'cuda', reason: expect.any(String) as string }]);
    await expect(InferenceThread.open(new Uint8Array([1, 2, 3]), cpu)).rejects.toThrow(/./);
  });

  it('does not keep a process alive once idle, even when nobody closes the detector', async () => {
    const { code, out } = await runProgram(
      (lib, dir) => `import { OnnxYoloDetector, writeRedSquareModel } from ${lib};
void (async () => {
  const model = await writeRedSquareModel(${JSON.stringify(path.join(dir, 'm.onnx'))}, { inputSize: 64 });
  const detector = await OnnxYoloDetector.load({ model: { path: model } });
  const image = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 as const };
  await detector.detect(image);
  console.log('detected');
})();
`,
    );
    expect(out).toContain('detected');
    expect(code).toBe(0); // killed (null) if the idle thread had held the process
  });

  const linux = process.platform === 'linux' ? it : it.skip;
  linux('helperThreadNice lowers the helper threads, not the JS thread or inference', async () => {
    const { out } = await runProgram(
      (lib, dir) => `import fs from 'node:fs';
import { OnnxYoloDetector, writeRedSquareModel } from ${lib};
void (async () => {
  const before = new Set(fs.readdirSync('/proc/self/task'));
  const model = await writeRedSquareModel(${JSON.stringify(path.join(dir, 'm.onnx'))}, { inputSize: 64 });
  const detector = await OnnxYoloDetector.load({ model: { path: model }, intraOpThreads: 2, helperThreadNice: 19 });
  const image = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 as const };
  await detector.detect(image);
  const threads = fs.readdirSync('/proc/self/task').map((id) => {
    const stat = fs.readFileSync('/proc/self/task/' + id + '/stat', 'utf8');
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const comm = fs.readFileSync('/proc/self/task/' + id + '/comm', 'utf8').trim();
    return { id: Number(id), comm, nice, old: before.has(id) };
  });
  console.log(JSON.stringify({ pid: process.pid, threads }));
  await detector.close();
})();
`,
    );
    const line = out.split('\n').find((l) => l.startsWith('{')) ?? '{}';
    const { pid, threads } = JSON.parse(line) as {
      pid: number;
      threads: { id: number; comm: string; nice: number; old: boolean }[];
    };
    // The process's own nice value (the test may itself run under `nice`).
    const base = threads.find((t) => t.id === pid)?.nice ?? 0;
    expect(base).toBeLessThan(19);
    // libvips' workers decode and resize: lowered.
    const vips = threads.filter((t) => t.comm === 'libvips worker');
    expect(vips.length).toBeGreaterThan(0);
    for (const t of vips) expect(t.nice).toBe(19);
    // The inference thread and onnxruntime's pool (started by the detector, not by libvips)
    // keep the process's priority: at least two new threads still at the base value.
    const kept = threads.filter((t) => !t.old && t.comm !== 'libvips worker' && t.nice === base);
    expect(kept.length).toBeGreaterThanOrEqual(2);
  });
});
