// The real YOLOv8n int8 model from the shared fixtures against the reference detections in
// ../shared/fixtures/README.md. Skipped, saying why, when the fixtures are not there.
import fs from 'node:fs';
import path from 'node:path';
import { OnnxYoloDetector } from './index';
import type { Box, Detection } from './index';
import { fixturesDir, iou } from './testing.spec-helper';

const fixtures = fixturesDir(process.env.FRAMEWISE_FIXTURES);
const describeWithFixtures = fixtures ? describe : describe.skip;
const title = fixtures
  ? 'real YOLOv8n int8 model'
  : 'real YOLOv8n int8 model — SKIPPED: fixtures not found at ../shared/fixtures (set FRAMEWISE_FIXTURES to the folder holding models/yolov8n-int8.onnx)';

// ../shared/fixtures/README.md: conf 0.25, class-wise NMS IoU 0.7, x1,y1,x2,y2 in original pixels.
const BUS_REFERENCE: { class: string; box: Box }[] = [
  { class: 'person', box: { x1: 673, y1: 377, x2: 810, y2: 879 } },
  { class: 'person', box: { x1: 221, y1: 408, x2: 343, y2: 857 } },
  { class: 'person', box: { x1: 51, y1: 398, x2: 242, y2: 904 } },
  { class: 'bus', box: { x1: 36, y1: 232, x2: 798, y2: 775 } },
  { class: 'person', box: { x1: 0, y1: 550, x2: 62, y2: 870 } },
];

const count = (detections: Detection[], cls: string) =>
  detections.filter((d) => d.class === cls).length;

describeWithFixtures(title, () => {
  let detector: OnnxYoloDetector;
  const image = (name: string) => fs.readFileSync(path.join(fixtures ?? '', 'images', name));

  beforeAll(async () => {
    detector = await OnnxYoloDetector.load({
      model: { path: path.join(fixtures ?? '', 'models', 'yolov8n-int8.onnx') },
    });
  });
  afterAll(() => detector.close());

  it('reads the model: 640x640, 80 COCO classes, 8400 anchors, fixed batch 1', () => {
    expect(detector.model).toMatchObject({
      task: 'detect',
      inputWidth: 640,
      inputHeight: 640,
      anchors: 8400,
      dynamicBatch: false,
      batchSize: 1,
    });
    expect(detector.model.classNames).toHaveLength(80);
    expect(detector.model.classNames[27]).toBe('tie');
  });

  it('bus.jpg: 4 persons and 1 bus, each within IoU 0.9 of the reference', async () => {
    const detections = await detector.detect(image('bus.jpg'));
    expect(count(detections, 'person')).toBe(4);
    expect(count(detections, 'bus')).toBe(1);
    expect(detections).toHaveLength(5);
    for (const ref of BUS_REFERENCE) {
      const best = Math.max(
        ...detections.filter((d) => d.class === ref.class).map((d) => iou(d.box, ref.box)),
      );
      expect(best).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('zidane.jpg: 2 persons and 1 tie', async () => {
    // At conf 0.25 this int8 model also returns a third, weak person (0.27, the left man's
    // upper body); it is the quantized model's output, not preprocessing (a cv2-style bilinear
    // resize gives it too, at 0.29). Above 0.3 the scene is the documented 2 persons + 1 tie.
    const detections = await detector.detect(image('zidane.jpg'), { confidence: 0.3 });
    expect(count(detections, 'person')).toBe(2);
    expect(count(detections, 'tie')).toBe(1);
    expect(detections).toHaveLength(3);
    const all = await detector.detect(image('zidane.jpg'));
    expect(all.filter((d) => d.score <= 0.3).map((d) => d.class)).toEqual(['person']);
  });
});
