import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EventPublisher, FrameJob, VideoJob } from '@framewise/contracts';
import { frameJobEntry, frameKey, framesPrefix, publishVideoEvent } from '@framewise/contracts';
import type { FrameRepository, ManifestFrame, Video, VideoRepository } from '@framewise/db';
import { InvalidTransitionError } from '@framewise/db';
import type { Logger } from '@framewise/observability';
import type { Job, QueueProducer } from '@framewise/queue';
import type { VideoStorage } from '@framewise/storage';
import { JpegSplitter } from '../media/jpeg-splitter';
import { probeVideo } from '../media/probe';
import { frameOutputArgs } from '../media/frame-format';
import { expectedFrames, frameTimeMs } from '../media/sampling';
import type { ExtractorMetrics } from './metrics';

/** Tunables of {@link FrameExtractor}. */
export interface FrameExtractorOptions {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** Frames per write / insert / publish round. */
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly jpegQuality: number;
  /**
   * Largest side of a stored frame, pixels: bigger frames are scaled down to fit (aspect kept;
   * results are still reported in the video's own pixels). 0 keeps the video's size.
   */
  readonly frameMaxSize: number;
  /** Redis key prefix for video events. */
  readonly keyPrefix: string;
  /** Where originals are staged when storage cannot hand ffmpeg a URL. */
  readonly tmpDir?: string;
}

/** Why an extraction stopped before the end. */
class ExtractionStopped extends Error {
  constructor(readonly reason: 'canceled' | 'timeout') {
    super(reason);
  }
}

/**
 * Handles one video job: probe, stream frames out of ffmpeg, and for each batch write the
 * JPEGs to storage, insert the manifest rows (one statement), then publish the frame jobs (one
 * pipelined round trip), so workers start on the first frames while ffmpeg is still decoding.
 *
 * Crash safety: batches are flushed strictly in order, so the manifest is always a prefix
 * 0…k-1 of the frames. A redelivered job re-runs ffmpeg (the output is deterministic) and
 * skips the frames already in the manifest; frames whose manifest row landed but whose job did
 * not are re-enqueued by the reaper's reconciler. Nothing is written twice.
 *
 * Errors: a video ffmpeg cannot decode, a timeout or a cancel end the job (the video is
 * failed or stays canceled); anything else (storage, Postgres, Redis) is thrown, so the queue
 * retries the job.
 */
export class FrameExtractor {
  constructor(
    private readonly videos: VideoRepository,
    private readonly frames: FrameRepository,
    private readonly storage: VideoStorage,
    private readonly frameProducer: QueueProducer<FrameJob>,
    private readonly events: EventPublisher,
    private readonly metrics: ExtractorMetrics,
    private readonly logger: Logger,
    private readonly options: FrameExtractorOptions,
  ) {}

  /** The video queue's job handler. */
  async handle(job: Job<VideoJob>): Promise<void> {
    const { videoId } = job.data;
    const log = this.logger.child({ videoId, jobId: job.id });
    const found = await this.videos.find(videoId);
    if (!found || (found.status !== 'uploaded' && found.status !== 'extracting')) {
      // Deleted, canceled or already past extraction (a redelivery after the last step).
      log.info({ status: found?.status ?? 'missing' }, 'video job has nothing to do');
      return;
    }
    let video: Video;
    try {
      video = await this.videos.transition(videoId, 'extracting');
    } catch (error) {
      if (error instanceof InvalidTransitionError) return; // canceled meanwhile
      throw error;
    }
    await this.publishStatus(video);
    const started = process.hrtime.bigint();
    const staged = await this.stageInput(video);
    try {
      const outcome = await probeVideo(this.options.ffprobe, staged.input);
      if (!outcome.ok) {
        await this.fail(video, 'undecodable_video', outcome.message);
        return;
      }
      const expected = expectedFrames(video.sampling, outcome.probe, outcome.frames);
      video = await this.videos.recordProbe(videoId, outcome.probe, expected);
      const alreadyInManifest = await this.frames.count(videoId);
      if (alreadyInManifest > 0) {
        log.info({ alreadyInManifest }, 'resuming: frames already in the manifest are skipped');
      }
      let extracted: number;
      try {
        extracted = await this.extract(video, staged.input, alreadyInManifest, log);
      } catch (error) {
        if (error instanceof ExtractionStopped) {
          if (error.reason === 'timeout') {
            await this.fail(video, 'extraction_timeout', 'extraction took longer than allowed');
          } else {
            // DELETE removed the prefix already; frames written since then go too.
            await this.storage.deleteByPrefix(framesPrefix(videoId));
            log.info('extraction stopped: the video was canceled');
          }
          return;
        }
        if (error instanceof FfmpegFailed) {
          await this.fail(video, 'extraction_failed', error.message);
          return;
        }
        throw error;
      }
      if (extracted === 0) {
        await this.fail(video, 'no_frames', 'ffmpeg produced no frames from this video');
        return;
      }
      try {
        video = await this.videos.transition(videoId, 'detecting', { extractedFrames: extracted });
      } catch (error) {
        if (error instanceof InvalidTransitionError) return; // canceled at the last moment
        throw error;
      }
      this.metrics.extractionSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      await this.publishStatus(video);
      log.info({ extracted }, 'extraction finished');
    } finally {
      await staged.cleanup();
    }
  }

  /** Runs ffmpeg and flushes frames batch by batch; returns the manifest size at the end. */
  private async extract(
    video: Video,
    input: string,
    skipBelow: number,
    log: Logger,
  ): Promise<number> {
    const args = [
      ...['-nostdin', '-v', 'error', '-i', input, '-map', '0:v:0'],
      ...frameOutputArgs(video.sampling, this.options.frameMaxSize, this.options.jpegQuality),
      ...['-f', 'image2pipe', 'pipe:1'],
    ];
    const child: ChildProcessByStdio<Writable | null, Readable, Readable> = spawn(
      this.options.ffmpeg,
      args,
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4000) stderr += d;
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        resolve(code);
      });
    });
    // An object, not a let: the timer sets it while the loop awaits.
    const state: { stopped?: ExtractionStopped } = {};
    const timer = setTimeout(() => {
      state.stopped = new ExtractionStopped('timeout');
      child.kill('SIGKILL');
    }, this.options.timeoutMs);

    const splitter = new JpegSplitter();
    child.stdout.pipe(splitter);
    let index = 0;
    let batch: { index: number; jpeg: Buffer }[] = [];
    // One batch may be in flight while the next one fills: ffmpeg keeps decoding during the
    // writes, and memory stays at two batches. Awaiting it before starting the next flush keeps
    // the manifest a prefix.
    let inFlight: Promise<void> | undefined;
    try {
      for await (const chunk of splitter) {
        const jpeg = chunk as Buffer;
        if (state.stopped) break;
        if (index >= skipBelow) batch.push({ index, jpeg });
        index++;
        if (batch.length >= this.options.batchSize) {
          await inFlight;
          if (await this.isCanceled(video.id)) {
            state.stopped = new ExtractionStopped('canceled');
            break;
          }
          inFlight = this.flush(video, batch, index);
          batch = [];
        }
      }
      await inFlight;
      inFlight = undefined;
      if (state.stopped) throw state.stopped;
      const code = await exited;
      // Read through a call: the timer may have set it during the await.
      throwIfStopped(state);
      if (code !== 0) {
        throw new FfmpegFailed(
          stderr.trim().split('\n')[0] ?? `ffmpeg exited with ${String(code)}`,
        );
      }
      if (batch.length > 0) await this.flush(video, batch, index);
      return Math.max(index, skipBelow);
    } catch (error) {
      child.kill('SIGKILL');
      splitter.destroy();
      // Let a flush still running settle before reporting, so nothing writes after we return.
      await inFlight?.catch(() => undefined);
      if (!(error instanceof ExtractionStopped) && !(error instanceof FfmpegFailed)) {
        log.warn({ err: error }, 'extraction failed; the job will be retried');
      }
      throw error;
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  /** Storage writes, then the manifest rows, then the frame jobs: the order workers rely on. */
  private async flush(
    video: Video,
    batch: readonly { index: number; jpeg: Buffer }[],
    extractedSoFar: number,
  ): Promise<void> {
    const probe = video.probe;
    const sourceFps = probe?.fps ?? 1;
    const rows: ManifestFrame[] = await Promise.all(
      batch.map(async ({ index, jpeg }) => {
        const key = frameKey(video.id, index);
        await this.storage.put(key, jpeg, { contentType: 'image/jpeg' });
        return { index, storageKey: key, timeMs: frameTimeMs(video.sampling, sourceFps, index) };
      }),
    );
    await this.frames.insertManifest(video.id, rows);
    const publishStarted = process.hrtime.bigint();
    // The probe's upright size: what the worker maps boxes to when frames were scaled down.
    const sourceSize = probe ? { width: probe.width, height: probe.height } : undefined;
    await this.frameProducer.enqueue(
      rows.map((row) =>
        frameJobEntry({
          videoId: video.id,
          frameIndex: row.index,
          storageKey: row.storageKey,
          model: video.model,
          ...(sourceSize === undefined ? {} : { sourceSize }),
        }),
      ),
    );
    this.metrics.publishSeconds.observe(Number(process.hrtime.bigint() - publishStarted) / 1e9);
    this.metrics.framesExtracted.inc(rows.length);
    await publishVideoEvent(this.events, this.options.keyPrefix, {
      videoId: video.id,
      type: 'progress',
      status: 'extracting',
      progress: {
        expected: video.expectedFrames,
        extracted: extractedSoFar,
        detected: 0,
        failed: 0,
      },
    }).catch(() => 0); // events are hints; losing one loses nothing (state is in Postgres)
  }

  private async isCanceled(videoId: string): Promise<boolean> {
    const current = await this.videos.find(videoId);
    return current?.status !== 'extracting';
  }

  private async fail(video: Video, code: string, message: string): Promise<void> {
    this.logger.warn({ videoId: video.id, code, message }, 'video failed');
    try {
      const failed = await this.videos.transition(video.id, 'failed', { error: { code, message } });
      await this.publishStatus(failed);
    } catch (error) {
      if (!(error instanceof InvalidTransitionError)) throw error;
    }
  }

  private async publishStatus(video: Video): Promise<void> {
    await publishVideoEvent(this.events, this.options.keyPrefix, {
      videoId: video.id,
      type: 'status',
      status: video.status,
    }).catch(() => 0);
  }

  /**
   * Gives ffmpeg something it can seek in: a presigned URL when storage has them (S3), else a
   * copy of the original in a temporary directory (mp4 with its index at the end cannot be
   * read from a pipe).
   */
  private async stageInput(video: Video): Promise<{ input: string; cleanup(): Promise<void> }> {
    const download = await this.storage.download(video.storageKey, { expiresInSeconds: 6 * 3600 });
    if (download.kind === 'url') return { input: download.url, cleanup: () => Promise.resolve() };
    const dir = await mkdtemp(join(this.options.tmpDir ?? tmpdir(), 'fw-extract-'));
    const cleanup = () => rm(dir, { recursive: true, force: true });
    try {
      const path = join(dir, 'original');
      await pipeline(download.body, createWriteStream(path));
      return { input: path, cleanup };
    } catch (error) {
      await cleanup();
      throw error;
    }
  }
}

function throwIfStopped(state: { stopped?: ExtractionStopped }): void {
  if (state.stopped) throw state.stopped;
}

/** ffmpeg exited with an error: the video cannot be decoded (not retried). */
class FfmpegFailed extends Error {}
