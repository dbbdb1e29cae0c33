// Creating an onnxruntime session on the first execution provider that works. onnxruntime-node
// ships the CPU provider; the CUDA and TensorRT providers are separate libraries fetched at
// install time (onnxruntime-node-install=cuda12). Asking for one that is not installed fails at
// session creation with "Failed to load shared library", so each preference is tried in turn.
// The session lives on its own thread (see inference-thread.ts); this module decides what to try.
import type * as ort from 'onnxruntime-node';
import type { ExecutionProviderName } from './detector';
import { InferenceThread, setThreadLogLevel } from './inference-thread';
import type { OpenedThreadSession } from './inference-thread';

/** Threading and device settings shared by every provider attempt. */
export interface SessionSettings {
  /** Threads inside one operator (onnxruntime's intra-op pool). Default: onnxruntime's choice. */
  readonly intraOpThreads?: number;
  /** Threads running independent operators in parallel. Default: onnxruntime's choice. */
  readonly interOpThreads?: number;
  /**
   * Whether onnxruntime's intra-op threads spin (busy-wait) between operators instead of
   * sleeping. Spinning saves a little latency per operator when the cores are otherwise idle,
   * but burns them while the detector decodes and resizes the next frames on the same cores.
   * Default false.
   */
  readonly intraOpSpinning?: boolean;
  /** GPU ordinal for cuda / tensorrt. Default 0. */
  readonly deviceId?: number;
}

/** A session (on its thread), the provider it runs on, and why earlier preferences were skipped. */
export interface OpenedSession extends OpenedThreadSession {
  readonly provider: ExecutionProviderName;
  readonly skipped: readonly { provider: ExecutionProviderName; reason: string }[];
}

function providerConfig(
  name: ExecutionProviderName,
  deviceId: number,
): ort.InferenceSession.ExecutionProviderConfig {
  switch (name) {
    case 'cuda':
      return { name: 'cuda', deviceId };
    case 'tensorrt':
      return { name: 'tensorrt', deviceId };
    case 'cpu':
      return 'cpu';
  }
}

/**
 * Opens `model` on the first provider of `preferences` that loads, always ending with CPU.
 * Throws the CPU error when even CPU fails (the model itself is the problem then).
 */
export async function openSession(
  model: Uint8Array,
  preferences: readonly ExecutionProviderName[],
  settings: SessionSettings,
): Promise<OpenedSession> {
  const order = [...new Set<ExecutionProviderName>([...preferences, 'cpu'])];
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...(settings.intraOpThreads !== undefined
      ? { intraOpNumThreads: settings.intraOpThreads }
      : {}),
    ...(settings.interOpThreads !== undefined
      ? { interOpNumThreads: settings.interOpThreads }
      : {}),
    // Session config entry "session.intra_op.allow_spinning" (onnxruntime_session_options_config_keys.h).
    extra: { session: { 'intra_op.allow_spinning': settings.intraOpSpinning ? '1' : '0' } },
  };
  const attempts = order.map((provider) => ({
    provider,
    options: {
      ...options,
      // onnxruntime places nodes a GPU provider cannot run on CPU by itself; listing 'cpu'
      // explicitly after it keeps that true whatever the defaults become.
      executionProviders:
        provider === 'cpu' ? ['cpu'] : [providerConfig(provider, settings.deviceId ?? 0), 'cpu'],
    },
  }));
  // The thread tries them in order and reports each failure's first line; CPU is last, and its
  // failure (the model itself is the problem then) is what rejects.
  const opened = await InferenceThread.open(model, attempts);
  return opened as OpenedSession;
}

/**
 * onnxruntime's own log level, process-wide (onnxruntime has one environment per process).
 * Call it in main.ts before loading a model: onnxruntime reads it when the first session is
 * created. `fatal` silences the native error line onnxruntime prints when an optional provider
 * (cuda, tensorrt) is not installed; the detector logs the fallback itself.
 */
export function setOnnxRuntimeLogLevel(
  level: 'verbose' | 'info' | 'warning' | 'error' | 'fatal',
): void {
  setThreadLogLevel(level);
}
