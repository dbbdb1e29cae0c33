// Model download with sha256 check, against a local HTTP server (no internet in tests).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  buildRedSquareModel,
  ModelDownloadError,
  OnnxYoloDetector,
  resolveModelFile,
} from './index';
import { tempDir } from './testing.spec-helper';

const model = Buffer.from(buildRedSquareModel({ inputSize: 64 }));
const sha256 = createHash('sha256').update(model).digest('hex');
const tmp = tempDir('download');
let server: http.Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/model.onnx') res.end(model);
    else if (req.url === '/broken.onnx') {
      // Headers promise more than arrives: the download fails midway.
      res.writeHead(200, { 'content-length': String(model.length) });
      res.write(model.subarray(0, 100));
      res.destroy();
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  tmp.cleanup();
});

const leftovers = (dir: string) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.part')) : [];

describe('model download', () => {
  it('downloads once into the cache, checks sha256, and loads', async () => {
    const cacheDir = path.join(tmp.dir, 'ok');
    const source = { url: `${base}/model.onnx`, sha256, cacheDir };
    const first = await resolveModelFile(source);
    expect(first).toBe(path.join(cacheDir, `${sha256}.onnx`));
    const second = await resolveModelFile(source);
    expect(second).toBe(first);
    expect(hits.filter((h) => h === '/model.onnx')).toHaveLength(1);
    const detector = await OnnxYoloDetector.load({ model: source });
    expect(detector.model.inputWidth).toBe(64);
    await detector.close();
  });

  it('refuses a file whose sha256 differs, and leaves nothing in the cache', async () => {
    const cacheDir = path.join(tmp.dir, 'bad-sha');
    const load = resolveModelFile({ url: `${base}/model.onnx`, sha256: '0'.repeat(64), cacheDir });
    await expect(load).rejects.toThrow(ModelDownloadError);
    await expect(
      resolveModelFile({ url: `${base}/model.onnx`, sha256: '0'.repeat(64), cacheDir }),
    ).rejects.toThrow(/has sha256 [0-9a-f]{64}, expected 0{64}: the URL serves a different file/);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it('re-downloads when the cached file was corrupted', async () => {
    const cacheDir = path.join(tmp.dir, 'corrupt');
    const source = { url: `${base}/model.onnx`, sha256, cacheDir };
    const target = await resolveModelFile(source);
    fs.writeFileSync(target, 'garbage');
    await resolveModelFile(source);
    expect(fs.readFileSync(target).equals(model)).toBe(true);
  });

  it('reports HTTP errors, broken transfers and bad sha256 settings', async () => {
    const cacheDir = path.join(tmp.dir, 'errors');
    await expect(
      resolveModelFile({ url: `${base}/missing.onnx`, sha256, cacheDir }),
    ).rejects.toThrow(/HTTP 404/);
    await expect(
      resolveModelFile({ url: `${base}/broken.onnx`, sha256, cacheDir }),
    ).rejects.toThrow(ModelDownloadError);
    await expect(
      resolveModelFile({ url: `${base}/model.onnx`, sha256: 'abc', cacheDir }),
    ).rejects.toThrow(/64 hex characters/);
    await expect(
      resolveModelFile({ url: 'http://127.0.0.1:1/model.onnx', sha256, cacheDir }),
    ).rejects.toThrow(/cannot download model/);
    expect(leftovers(cacheDir)).toEqual([]);
  });
});
