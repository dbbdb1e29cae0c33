// The `framewise` command, spawned as a user runs it: node_modules/.bin/framewise, linked by npm
// from this workspace's "bin".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeRedSquareModel } from '../index';
import { redSquaresImage, tempDir } from '../testing.spec-helper';

const repoRoot = path.resolve(__dirname, '../../../..');
const bin = path.join(repoRoot, 'node_modules', '.bin', 'framewise');
const tmp = tempDir('cli');
afterAll(() => {
  tmp.cleanup();
});

function framewise(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

let model: string;
beforeAll(async () => {
  model = await writeRedSquareModel(path.join(tmp.dir, 'red.onnx'));
  fs.mkdirSync(path.join(tmp.dir, 'images'));
  fs.writeFileSync(
    path.join(tmp.dir, 'images', 'a.jpg'),
    await redSquaresImage(640, 480, [{ left: 100, top: 100, width: 80, height: 80 }], 'jpeg'),
  );
  fs.writeFileSync(
    path.join(tmp.dir, 'images', 'b.png'),
    await redSquaresImage(320, 320, [], 'png'),
  );
  fs.writeFileSync(path.join(tmp.dir, 'images', 'notes.txt'), 'not an image');
});

describe('framewise detect', () => {
  it('is linked into node_modules/.bin', () => {
    expect(fs.existsSync(bin)).toBe(true);
  });

  it('prints detections of a folder as JSON, boxes in original pixels', async () => {
    const { code, stdout, stderr } = await framewise([
      'detect',
      '--model',
      model,
      path.join(tmp.dir, 'images'),
      '--json',
      '--provider',
      'cuda,cpu',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      file: string;
      detections: { class: string; classId: number; score: number; box: object }[];
    }[];
    expect(report.map((r) => path.basename(r.file))).toEqual(['a.jpg', 'b.png']);
    expect(report[0]?.detections).toEqual([
      {
        class: 'red_square',
        classId: 0,
        score: 1,
        box: {
          x1: expect.closeTo(100, 0) as number,
          y1: expect.closeTo(100, 0) as number,
          x2: expect.closeTo(180, 0) as number,
          y2: expect.closeTo(180, 0) as number,
        },
      },
    ]);
    expect(report[1]?.detections).toEqual([]);
    // The CUDA fallback is one line on stderr, and onnxruntime's native noise is silenced.
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^framewise detect: detector runs on cpu, not cuda, because cuda: /),
    ]);
  });

  it('prints a readable summary without --json and honours --conf', async () => {
    const image = path.join(tmp.dir, 'images', 'a.jpg');
    const plain = await framewise(['detect', '--model', model, image]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(
      /a\.jpg: 1 detection\(s\)\n {2}red_square 1\.00 \[100, 100, 180, 180\]/,
    );
    const strict = await framewise(['detect', '--model', model, image, '--conf', '1', '--json']);
    expect(JSON.parse(strict.stdout)).toEqual([{ file: image, detections: [] }]);
  });

  it('exits 2 with usage on bad arguments, 1 with the reason on a bad model', async () => {
    const noModel = await framewise(['detect', path.join(tmp.dir, 'images')]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/--model is required[\s\S]*Usage: framewise detect/);
    const badConf = await framewise(['detect', '--model', model, tmp.dir, '--conf', '7']);
    expect(badConf.code).toBe(2);
    const badModel = await framewise([
      'detect',
      '--model',
      path.join(tmp.dir, 'images', 'notes.txt'),
      path.join(tmp.dir, 'images'),
    ]);
    expect(badModel.code).toBe(1);
    expect(badModel.stderr).toMatch(/notes\.txt is not an ONNX model/);
    const unknown = await framewise(['track']);
    expect(unknown.code).toBe(2);
  });
});
