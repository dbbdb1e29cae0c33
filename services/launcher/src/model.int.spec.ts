// obtainModel's download path against a local HTTP server: checked by sha256, cached, reused
// offline, and a mismatch stops with the instructions.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildRedSquareModel } from '@framewise/detector';
import { ModelUnavailableError, obtainModel } from './model';

const bytes = buildRedSquareModel();
const sha256 = createHash('sha256').update(bytes).digest('hex');
let server: http.Server;
let url: string;
let requests = 0;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-model-'));
  server = http.createServer((_req, res) => {
    requests += 1;
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.onnx`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('downloads once, checks the sha256, then reuses the cached file even offline', async () => {
  const models = path.join(dir, 'models');
  const first = await obtainModel({ kind: 'download', url, sha256, online: true }, models);
  expect(first.path).toBe(path.join(models, `${sha256}.onnx`));
  expect(fs.readFileSync(first.path).equals(Buffer.from(bytes))).toBe(true);
  expect(requests).toBe(1);

  const offline = await obtainModel({ kind: 'download', url, sha256, online: false }, models);
  expect(offline.path).toBe(first.path);
  expect(requests).toBe(1);
});

test('a file with another sha256 is refused with the instructions', async () => {
  const wrong = 'ab'.repeat(32);
  const attempt = obtainModel(
    { kind: 'download', url, sha256: wrong, online: true },
    path.join(dir, 'other'),
  );
  await expect(attempt).rejects.toThrow(ModelUnavailableError);
  await expect(attempt).rejects.toThrow(/the download failed: .*sha256/);
  await expect(attempt).rejects.toThrow('yolo export model=yolov8n.pt format=onnx');
  expect(fs.existsSync(path.join(dir, 'other', `${wrong}.onnx`))).toBe(false);
});

test('the test model is written into the models folder', async () => {
  const model = await obtainModel({ kind: 'test' }, path.join(dir, 'test'));
  expect(fs.readFileSync(model.path).equals(Buffer.from(bytes))).toBe(true);
});
