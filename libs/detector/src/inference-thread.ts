// The onnxruntime session lives on its own worker thread. onnxruntime-node's `session.run` is
// synchronous: on the JS thread it blocks everything else for the whole inference (tens of ms
// on a CPU), so copying the next frame into its tensor, decoding the last output, and every
// queue, storage and database callback of the process would wait behind it. On a thread of its
// own, inference runs back to back while the JS thread does all of that at the same time.
//
// The thread's code is a small plain-JS program (below) run with `eval: true`, so it loads the
// same way from TypeScript sources (tsx, jest) and from the compiled dist/: there is no second
// entry file to build or to find. It only executes what this side decides: which session
// options to try in which order, and which tensors to run.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DetectorError, DetectorHungError } from './errors';

/** onnxruntime's description of one model input or output, as the thread reports it. */
export interface ValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/** One way to create the session: a provider name (for the report) and its session options. */
export interface SessionAttempt {
  readonly provider: string;
  /** onnxruntime `InferenceSession.SessionOptions`, structured-cloneable. */
  readonly options: Record<string, unknown>;
}

/** The session the thread opened, and why earlier attempts failed. */
export interface OpenedThreadSession {
  readonly thread: InferenceThread;
  /** The attempt that worked. */
  readonly provider: string;
  readonly skipped: readonly { provider: string; reason: string }[];
  readonly inputs: readonly ValueMetadata[];
  readonly outputs: readonly ValueMetadata[];
  /**
   * Linux thread ids of the inference thread and of the threads that appeared while it created
   * the session (onnxruntime's intra-op pool); empty where /proc is not available.
   */
  readonly threadIds: readonly number[];
}

/** One finished run: the output tensor's data and how the thread spent its time. */
export interface ThreadRunResult {
  /**
   * The output; its buffer is this side's to keep, and to offer back as a later `output`. A
   * reused buffer larger than the output comes back whole, with `data` a view of its first bytes.
   */
  readonly data: Float32Array<ArrayBuffer>;
  /** Whether onnxruntime wrote the output into the request's `output` buffer. */
  readonly reusedOutput: boolean;
  /** The request's input buffer, handed back for reuse. */
  readonly input: ArrayBuffer;
  readonly dims: readonly number[];
  /** Milliseconds inside `session.run`. */
  readonly runMs: number;
  /**
   * Milliseconds the thread sat idle, waiting for this run's input, since its previous run
   * ended (0 when the input was already queued): the input preparation inference did not hide.
   */
  readonly idleMs: number;
}

/**
 * A run request. `input` (float32 data of `dims`, from offset 0) is transferred to the thread
 * and comes back in the result: onnxruntime-node refuses SharedArrayBuffer-backed tensors, and a
 * transfer moves the buffer without copying it. Views on it are unusable until it is back.
 */
export interface ThreadRunRequest {
  readonly inputName: string;
  readonly outputName: string;
  readonly input: ArrayBuffer;
  readonly dims: readonly number[];
  /**
   * A buffer for the output, from an earlier result, and the output's expected dims. It is
   * transferred too; onnxruntime writes the output into its first bytes (a preallocated output)
   * when it is large enough, so no new output buffer reaches this side and this side's garbage
   * collector has a few MB less per run to collect. Ignored (and dropped) when it is too small.
   */
  readonly output?: ArrayBuffer;
  readonly outputDims?: readonly number[];
}

type Reply =
  | { id: number; ok: false; message: string }
  | {
      id: number;
      ok: true;
      provider?: string;
      skipped?: { provider: string; reason: string }[];
      inputs?: ValueMetadata[];
      outputs?: ValueMetadata[];
      threadIds?: number[];
      type?: string;
      data?: Float32Array<ArrayBuffer>;
      reused?: boolean;
      input?: ArrayBuffer;
      dims?: number[];
      runMs?: number;
      idleMs?: number;
    };

interface Pending {
  resolve: (reply: Reply & { ok: true }) => void;
  reject: (error: Error) => void;
  /** An inference run (the run deadline applies), not an open or release. */
  run: boolean;
}

/** The program the thread runs (plain JS: it is not compiled with the rest). */
const THREAD_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.onnxruntime);
if (workerData.logLevel) ort.env.logLevel = workerData.logLevel;
let session;
let lastEnd;
// Whether runs write into the output buffers offered with them. Off for good if a run with one
// fails and the same run without one works: that session does not take preallocated outputs.
let preallocate = true;
const firstLine = (message) => String(message).split('\\n')[0].trim();
const fs = require('node:fs');
// Linux: this thread's id and the process's thread ids (none elsewhere).
const ownThreadId = () => { try { return Number(fs.readlinkSync('/proc/thread-self').split('/').pop()); } catch { return undefined; } };
const threadIds = () => { try { return fs.readdirSync('/proc/self/task').map(Number); } catch { return []; } };
const metadata = (list) => list.map((m) => m.isTensor
  ? { name: m.name, isTensor: true, type: m.type, shape: m.shape }
  : { name: m.name, isTensor: false });
async function handle(message) {
  if (message.kind === 'open') {
    const skipped = [];
    const before = new Set(threadIds());
    for (let i = 0; i < message.attempts.length; i++) {
      const attempt = message.attempts[i];
      try {
        session = await ort.InferenceSession.create(message.model, attempt.options);
      } catch (error) {
        if (i === message.attempts.length - 1) throw error;
        skipped.push({ provider: attempt.provider, reason: firstLine(error && error.message) });
        continue;
      }
      const own = ownThreadId();
      const pool = threadIds().filter((id) => !before.has(id));
      return {
        provider: attempt.provider,
        skipped,
        threadIds: own === undefined ? [] : [own, ...pool],
        inputs: metadata(session.inputMetadata),
        outputs: metadata(session.outputMetadata),
      };
    }
    throw new Error('no session options to try');
  }
  if (message.kind === 'run') {
    const start = performance.now();
    const idleMs = lastEnd === undefined ? 0 : Math.max(0, start - lastEnd);
    const count = (dims) => dims.reduce((a, b) => a * b, 1);
    let offered;
    // A larger buffer serves too (a dynamic-batch model's partial batch): its first bytes.
    if (preallocate && message.output && message.outputDims &&
        message.output.byteLength >= count(message.outputDims) * 4) {
      const view = new Float32Array(message.output, 0, count(message.outputDims));
      offered = new ort.Tensor('float32', view, message.outputDims);
    }
    let outputs;
    let reused = false;
    try {
      const input = new ort.Tensor('float32', new Float32Array(message.input, 0, count(message.dims)), message.dims);
      const feeds = { [message.inputName]: input };
      if (offered) {
        try {
          outputs = await session.run(feeds, { [message.outputName]: offered });
          reused = true;
        } catch {
          outputs = await session.run(feeds);
          preallocate = false;
        }
      } else {
        outputs = await session.run(feeds);
      }
    } finally {
      lastEnd = performance.now();
    }
    const output = outputs[message.outputName];
    if (!output || output.type !== 'float32') {
      throw new Error('model returned no float32 output "' + message.outputName + '"');
    }
    // onnxruntime-node writes a preallocated output in place and returns a copy of it: the
    // offered buffer goes back whole (a view of its first bytes) and the copy is left to this
    // thread's collector, whose heap is tiny. Otherwise the output's own buffer, when it holds
    // just the output (it is then moved, not copied).
    let data = reused ? offered.data : output.data;
    if (!reused && (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength)) {
      data = new Float32Array(data);
    }
    return {
      reply: { data, reused, input: message.input, dims: output.dims, runMs: lastEnd - start, idleMs },
      transfer: [data.buffer, message.input],
    };
  }
  if (message.kind === 'release') {
    if (session) await session.release();
    session = undefined;
    return {};
  }
  throw new Error('unknown request ' + message.kind);
}
// Requests are handled one at a time, in order: a run queued behind another starts the moment
// the previous one ends.
let queue = Promise.resolve();
parentPort.on('message', (message) => {
  queue = queue.then(async () => {
    try {
      const result = await handle(message);
      if (result && result.reply) {
        parentPort.postMessage({ id: message.id, ok: true, ...result.reply }, result.transfer);
      } else {
        parentPort.postMessage({ id: message.id, ok: true, ...result });
      }
    } catch (error) {
      parentPort.postMessage({ id: message.id, ok: false, message: String((error && error.message) || error) });
    }
  });
});
`;

/** onnxruntime's log level for sessions opened from now on (see setOnnxRuntimeLogLevel). */
let logLevel: string | undefined;

/** Sets onnxruntime's log level for the threads opened after this call. */
export function setThreadLogLevel(level: string): void {
  logLevel = level;
}

/**
 * A worker thread owning one onnxruntime session. Runs are queued and executed in order; the
 * thread keeps the process alive only while a request is outstanding.
 */
export class InferenceThread {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private runTimeoutMs = 0;
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (reply: Reply) => {
      this.settle(reply);
    });
    worker.on('error', (error) => {
      this.fail(
        new DetectorError(`the inference thread failed: ${error.message}`, { cause: error }),
      );
    });
    worker.on('exit', (code) => {
      this.fail(new DetectorError(`the inference thread exited (code ${code})`));
    });
  }

  /**
   * Starts a thread and opens `model` with the first of `attempts` that works. Rejects with the
   * last attempt's error when none does (the thread is then stopped).
   */
  static async open(
    model: Uint8Array,
    attempts: readonly SessionAttempt[],
  ): Promise<OpenedThreadSession> {
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        onnxruntime: createRequire(__filename).resolve('onnxruntime-node'),
        logLevel,
      },
      // The thread needs none of the process's flags (loaders, inspector, profilers).
      execArgv: [],
    });
    const thread = new InferenceThread(worker);
    try {
      const reply = await thread.request({ kind: 'open', model, attempts });
      return {
        thread,
        provider: reply.provider ?? '',
        skipped: reply.skipped ?? [],
        inputs: reply.inputs ?? [],
        outputs: reply.outputs ?? [],
        threadIds: reply.threadIds ?? [],
      };
    } catch (error) {
      await thread.terminate();
      throw error;
    }
  }

  /** Queues one inference; resolves with the output once the thread ran it. */
  async run(request: ThreadRunRequest): Promise<ThreadRunResult> {
    const reply = await this.request({ kind: 'run', ...request });
    return {
      data: reply.data ?? new Float32Array(0),
      reusedOutput: reply.reused ?? false,
      input: reply.input ?? new ArrayBuffer(0),
      dims: reply.dims ?? [],
      runMs: reply.runMs ?? 0,
      idleMs: reply.idleMs ?? 0,
    };
  }

  /**
   * From now on, a run that takes longer than `ms` (0: no limit) fails this thread for good
   * with a {@link DetectorHungError}: every run in flight and every later request rejects.
   * Runs execute one after another, so while runs are in flight an answer is due at least
   * every `ms`; the watchdog waits that long after the last answer (or the first run sent),
   * and a run that answers but reports a longer `runMs` counts as hung too, so the outcome
   * does not depend on which the event loop sees first.
   */
  setRunTimeout(ms: number): void {
    this.runTimeoutMs = ms;
    this.armWatchdog();
  }

  /** Whether a run outlived the run timeout (the thread may be stuck in onnxruntime). */
  get hung(): boolean {
    return this.failure instanceof DetectorHungError;
  }

  /** Releases the session and stops the thread. */
  async close(): Promise<void> {
    if (this.failure === undefined) {
      try {
        await this.request({ kind: 'release' });
      } catch {
        // stopping it anyway
      }
    }
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    this.fail(new DetectorError('the inference thread is stopped'));
    // A hung thread is left alone (unreferenced): terminating a thread while onnxruntime runs
    // in it aborts the whole process when the run returns ('terminate called after throwing
    // an instance of Napi::Error'), and one stuck in a native call would never end anyway.
    if (!this.hung) await this.worker.terminate();
  }

  private request(message: Record<string, unknown>): Promise<Reply & { ok: true }> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const run = message.kind === 'run';
    // The watchdog starts with the first run in flight; later ones wait behind it.
    const firstRun = run && !this.runInFlight();
    const reply = new Promise<Reply & { ok: true }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, run });
    });
    if (firstRun) this.armWatchdog();
    this.worker.ref();
    const transfer = [message.input, message.output].filter(
      (b): b is ArrayBuffer => b instanceof ArrayBuffer,
    );
    this.worker.postMessage({ ...message, id }, transfer);
    return reply;
  }

  private settle(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    if (pending.run) {
      const runMs = reply.ok ? (reply.runMs ?? 0) : 0;
      if (this.runTimeoutMs > 0 && runMs > this.runTimeoutMs) {
        this.hang(runMs);
        return;
      }
    }
    this.pending.delete(reply.id);
    // An answer: the next run in flight (if any) has started.
    if (pending.run) this.armWatchdog();
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) pending.resolve(reply);
    else pending.reject(new Error(reply.message));
  }

  private runInFlight(): boolean {
    for (const pending of this.pending.values()) if (pending.run) return true;
    return false;
  }

  /** (Re)starts the wait for the next answer while runs are in flight; stops it otherwise. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    if (this.runTimeoutMs <= 0 || !this.runInFlight() || this.failure !== undefined) return;
    this.watchdog = setTimeout(() => {
      this.hang(undefined);
    }, this.runTimeoutMs);
    this.watchdog.unref();
  }

  private hang(runMs: number | undefined): void {
    const took =
      runMs === undefined
        ? `has not finished after ${this.runTimeoutMs} ms`
        : `took ${Math.round(runMs)} ms`;
    this.fail(
      new DetectorHungError(
        `an inference run ${took}, longer than the run timeout (${this.runTimeoutMs} ms): ` +
          'the session is presumed hung (a lost GPU, a driver that stopped answering). ' +
          'Restart the process; raise the timeout if runs are this slow by nature ' +
          '(a first run on a new shape, a big batch on a slow CPU).',
      ),
    );
  }

  private fail(error: Error): void {
    this.failure ??= error;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
    this.worker.unref();
  }
}
