import path from 'node:path';
import { DEFAULT_MODEL, ModelUnavailableError, chooseModel, modelHelp } from './model';

const none = { testModel: false, MODEL_DOWNLOAD: true };

describe('chooseModel', () => {
  it('prefers --test-model, then --model, MODEL_PATH, WORKER_MODEL_PATH', () => {
    const all = {
      ...none,
      flagModel: 'flag.onnx',
      MODEL_PATH: 'env.onnx',
      WORKER_MODEL_PATH: 'worker.onnx',
    };
    expect(chooseModel({ ...all, testModel: true })).toEqual({ kind: 'test' });
    expect(chooseModel(all)).toEqual({
      kind: 'path',
      path: path.resolve('flag.onnx'),
      from: '--model',
    });
    expect(chooseModel({ ...all, flagModel: undefined })).toMatchObject({ from: 'MODEL_PATH' });
    expect(chooseModel({ ...none, WORKER_MODEL_PATH: 'w.onnx' })).toMatchObject({
      from: 'WORKER_MODEL_PATH',
    });
  });

  it('falls back to the pinned default download, or the configured one', () => {
    expect(chooseModel(none)).toEqual({
      kind: 'download',
      url: DEFAULT_MODEL.url,
      sha256: DEFAULT_MODEL.sha256,
      online: true,
    });
    expect(
      chooseModel({
        ...none,
        MODEL_DOWNLOAD: false,
        MODEL_URL: 'https://example.com/m.onnx',
        MODEL_SHA256: 'ab'.repeat(32),
      }),
    ).toEqual({
      kind: 'download',
      url: 'https://example.com/m.onnx',
      sha256: 'ab'.repeat(32),
      online: false,
    });
  });

  it('refuses a URL without its sha256', () => {
    expect(() => chooseModel({ ...none, MODEL_URL: 'https://example.com/m.onnx' })).toThrow(
      ModelUnavailableError,
    );
  });
});

test('modelHelp says why, and how to export, point at, download or skip a model', () => {
  const help = modelHelp('MODEL_PATH names /nope.onnx, which does not exist.');
  expect(help).toContain('has none: MODEL_PATH names /nope.onnx');
  expect(help).toContain('yolo export model=yolov8n.pt format=onnx');
  expect(help).toContain('MODEL_PATH=/path/to/model.onnx npm start');
  expect(help).toContain('npm start -- --test-model');
});

test('the default model is pinned to one commit and a sha256', () => {
  expect(DEFAULT_MODEL.url).toMatch(/\/[0-9a-f]{40}\/yolov8n_int8\.onnx$/);
  expect(DEFAULT_MODEL.sha256).toMatch(/^[0-9a-f]{64}$/);
});
