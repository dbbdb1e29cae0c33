import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import { PayloadTooLargeError } from '../../errors';
import type { UploadTicket } from './upload-quota';

/** A request whose upload is staged in a directory of its own (see `withUploadDir`). */
export interface StagingRequest extends Request {
  uploadDir?: string;
  /** The API key's upload quota hold: the body is cut off past what the quota has left. */
  uploadTicket?: UploadTicket;
}

/**
 * A multer storage engine that streams the file to the request's staging directory and
 * enforces the size limit itself, failing the moment the limit is crossed (the upload limit,
 * or what the API key's byte quota has left for the period).
 *
 * Why not multer's `limits.fileSize`: busboy then only marks the file truncated and keeps
 * reading (and discarding) the body up to its end, so a client sending 50 GB would be read to
 * the last byte before hearing 413. Failing here makes multer answer at once; the error
 * middleware then closes the connection.
 */
export class StagingStorage implements StorageEngine {
  constructor(
    private readonly maxBytes: number,
    private readonly fallbackDir: string,
  ) {}

  _handleFile(
    req: Request,
    file: Express.Multer.File,
    callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void,
  ): void {
    const destination = (req as StagingRequest).uploadDir ?? this.fallbackDir;
    const ticket = (req as StagingRequest).uploadTicket;
    const quotaLeft = ticket?.bytesLeft ?? Infinity;
    const path = join(destination, 'upload');
    const out = createWriteStream(path);
    let size = 0;
    let settled = false;
    const settle = (error?: unknown, info?: Partial<Express.Multer.File>): void => {
      if (settled) return;
      settled = true;
      callback(error, info);
    };
    file.stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (settled) return;
      const tooLarge = size > this.maxBytes;
      if (tooLarge || size > quotaLeft) {
        file.stream.unpipe(out);
        out.destroy();
        file.stream.resume(); // let busboy move on; the connection is closed after the answer
        settle(
          tooLarge || ticket === undefined
            ? new PayloadTooLargeError(this.maxBytes)
            : ticket.overQuota(size),
        );
      }
    });
    out.on('error', (error) => {
      settle(error);
    });
    out.on('finish', () => {
      settle(undefined, { destination, filename: 'upload', path, size });
    });
    file.stream.pipe(out);
  }

  _removeFile(
    _req: Request,
    file: Express.Multer.File,
    callback: (error: Error | null) => void,
  ): void {
    rm(file.path, { force: true }).then(
      () => {
        callback(null);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }
}
