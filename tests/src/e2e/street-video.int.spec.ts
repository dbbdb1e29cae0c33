// End to end with the real YOLOv8n model and a real street video from the shared fixtures:
// upload over HTTP, extraction at a low rate (few frames: this runs on CPU), detection, and
// persons found in every sampled frame. Skipped, saying why, when the fixtures are absent.
import fs from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '@framewise/stack';
import { ApiClient } from '../support/api-client';

const fixtures =
  process.env.FRAMEWISE_FIXTURES ?? path.resolve(__dirname, '../../../../shared/fixtures');
const model = path.join(fixtures, 'models', 'yolov8n-int8.onnx');
const video = path.join(fixtures, 'videos', 'street-people-1080p.mp4');
const present = fs.existsSync(model) && fs.existsSync(video);
const describeWithFixtures = present ? describe : describe.skip;
const title = present
  ? 'end to end: real YOLOv8n on the street video'
  : `end to end: real YOLOv8n on the street video — SKIPPED: ${model} or ${video} not found (set FRAMEWISE_FIXTURES to the fixtures folder)`;

/** fps:0.5 over the 10.07 s video: 5 frames, 2 s apart (a 1080p frame costs ~0.3 s on CPU). */
const SAMPLING = 'fps:0.5';
const FRAMES = 5;

describeWithFixtures(title, () => {
  let dir: string;
  let stack: Stack | undefined;
  let client: ApiClient;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fw-e2e-street-'));
    // Postgres runs as its own user when the tests run as root: it must enter the folder.
    await chmod(dir, 0o755);
    stack = await startStack({
      dataDir: path.join(dir, 'stack'),
      modelPath: model,
      hostEnv: process.env,
      postgresSettings: { fsync: 'off' },
      env: { LOG_LEVEL: 'warn', REAPER_FINALIZE_INTERVAL: '500ms' },
    });
    client = new ApiClient(stack.apiUrl, stack.apiKey);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('finds persons in every sampled frame', async () => {
    const uploaded = await client.uploadAccepted(video, { sampling: SAMPLING });
    const events = await client.events(uploaded.id, 90_000);
    expect(events.at(-1)?.data).toMatchObject({
      status: 'completed',
      progress: { expected: FRAMES, extracted: FRAMES, detected: FRAMES, failed: 0 },
    });
    const { items } = await client.allDetections(uploaded.id, 2);
    expect(items.map((f) => f.frame_index)).toEqual([0, 1, 2, 3, 4]);
    expect(items.map((f) => f.time_ms)).toEqual([0, 2000, 4000, 6000, 8000]);
    const persons = items.map((f) => f.detections.filter((d) => d.class === 'person').length);
    // The fixture's README: 8 to 17 persons a frame; YOLOv8n at 640 finds most of them.
    for (const count of persons) expect(count).toBeGreaterThanOrEqual(3);
    // Boxes lie inside the 1920×1080 frame and scores above the model's threshold.
    for (const d of items.flatMap((f) => f.detections)) {
      const [x1, y1, x2, y2] = d.box;
      expect(0 <= x1 && x1 < x2 && x2 <= 1920 && 0 <= y1 && y1 < y2 && y2 <= 1080).toBe(true);
      expect(d.score).toBeGreaterThanOrEqual(0.25);
    }
    // Filters narrow the same results: only persons, only confident ones.
    const confident = await client.allDetections(uploaded.id, 100, {
      class: 'person',
      min_score: '0.5',
    });
    for (const f of confident.items) {
      for (const d of f.detections) {
        expect(d.class).toBe('person');
        expect(d.score).toBeGreaterThanOrEqual(0.5);
      }
    }
  });
});
