import { parseClassNames, parseIntList, parseLabels, yoloModelSpec } from './model-info';
import type { TensorInfo } from './model-info';

const input = (shape: (number | string)[]): TensorInfo => ({
  name: 'images',
  type: 'float32',
  shape,
});
const output = (shape: (number | string)[]): TensorInfo => ({
  name: 'output0',
  type: 'float32',
  shape,
});
const meta = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('Ultralytics metadata parsing', () => {
  it('reads names from a Python dict literal, quotes and escapes included', () => {
    expect(parseClassNames(`{0: 'person', 1: "o'clock", 2: 'it\\'s', 3: 'traffic light'}`)).toEqual(
      ['person', "o'clock", "it's", 'traffic light'],
    );
  });

  it('fills holes of sparse dicts and rejects junk', () => {
    expect(parseClassNames(`{0: 'a', 2: 'c'}`)).toEqual(['a', 'class_1', 'c']);
    expect(parseClassNames('not a dict')).toBeUndefined();
    expect(parseClassNames(undefined)).toBeUndefined();
  });

  it('reads integer lists', () => {
    expect(parseIntList('[640, 640]')).toEqual([640, 640]);
    expect(parseIntList('(17, 3)')).toEqual([17, 3]);
    expect(parseIntList('[384,640]')).toEqual([384, 640]);
    expect(parseIntList('640')).toBeUndefined();
  });

  it('reads labels files', () => {
    expect(parseLabels('person\r\n\nbus\n  tie  \n')).toEqual(['person', 'bus', 'tie']);
  });
});

describe('yoloModelSpec', () => {
  const names80 = `{${Array.from({ length: 80 }, (_, i) => `${i}: 'c${i}'`).join(', ')}}`;

  it('describes a YOLOv8 detect model from shapes and metadata', () => {
    const r = yoloModelSpec(
      [input([1, 3, 640, 640])],
      [output([1, 84, 8400])],
      meta({ names: names80, task: 'detect' }),
      undefined,
    );
    expect(r.spec).toMatchObject({
      task: 'detect',
      inputWidth: 640,
      inputHeight: 640,
      fixedBatch: 1,
      channels: 84,
      anchors: 8400,
    });
    expect(r.spec?.classNames).toHaveLength(80);
  });

  it('reads non-square sizes, a dynamic batch and any anchor count', () => {
    const r = yoloModelSpec(
      [input(['batch', 3, 384, 640])],
      [output(['batch', 6, 5040])],
      meta({ names: `{0: 'a', 1: 'b'}` }),
      undefined,
    );
    expect(r.spec).toMatchObject({
      inputWidth: 640,
      inputHeight: 384,
      fixedBatch: undefined,
      anchors: 5040,
    });
  });

  it('takes H and W from imgsz when the input axes are dynamic', () => {
    const r = yoloModelSpec(
      [input(['b', 3, 'h', 'w'])],
      [output(['b', 5, 2100])],
      meta({ imgsz: '[320, 480]' }),
      undefined,
    );
    expect(r.spec).toMatchObject({ inputHeight: 320, inputWidth: 480 });
    expect(
      yoloModelSpec([input(['b', 3, 'h', 'w'])], [output(['b', 5, 2100])], meta({}), undefined)
        .problem,
    ).toMatch(/imgsz/);
  });

  it('recognises pose from task and kpt_shape', () => {
    const r = yoloModelSpec(
      [input([1, 3, 640, 640])],
      [output([1, 56, 8400])],
      meta({ task: 'pose', kpt_shape: '[17, 3]', names: `{0: 'person'}` }),
      undefined,
    );
    expect(r.spec).toMatchObject({
      task: 'pose',
      keypoints: { count: 17, dims: 3 },
      classNames: ['person'],
    });
  });

  it('recognises pose from leftover channels when only names are known', () => {
    const r = yoloModelSpec([input([1, 3, 640, 640])], [output([1, 56, 8400])], meta({}), [
      'person',
    ]);
    expect(r.spec).toMatchObject({ task: 'pose', keypoints: { count: 17, dims: 3 } });
  });

  it('falls back to labels, then to class_<i>', () => {
    expect(
      yoloModelSpec([input([1, 3, 64, 64])], [output([1, 6, 84])], meta({}), ['x', 'y']).spec
        ?.classNames,
    ).toEqual(['x', 'y']);
    expect(
      yoloModelSpec([input([1, 3, 64, 64])], [output([1, 6, 84])], meta({}), undefined).spec
        ?.classNames,
    ).toEqual(['class_0', 'class_1']);
  });

  it.each([
    [
      'two inputs',
      [input([1, 3, 64, 64]), input([1, 3, 64, 64])],
      [output([1, 6, 84])],
      {},
      /one image input/,
    ],
    [
      'a non-image input',
      [input([1, 64, 64, 3])],
      [output([1, 6, 84])],
      {},
      /expected float32 \[N, 3, H, W\]/,
    ],
    [
      'a 4-D output',
      [input([1, 3, 64, 64])],
      [output([1, 3, 64, 64])],
      {},
      /Ultralytics YOLOv8\/YOLO11 layout/,
    ],
    ['a YOLOv5 layout', [input([1, 3, 640, 640])], [output([1, 25200, 85])], {}, /YOLOv5/],
    ['an end-to-end export', [input([1, 3, 640, 640])], [output([1, 300, 6])], {}, /nms=False/],
    [
      'a segment model',
      [input([1, 3, 640, 640])],
      [output([1, 116, 8400])],
      { task: 'segment' },
      /segment/,
    ],
    [
      'too few channels',
      [input([1, 3, 64, 64])],
      [output([1, 4, 84])],
      {},
      /not \[N, 4 \+ classes, anchors\]/,
    ],
    [
      'names that do not match',
      [input([1, 3, 64, 64])],
      [output([1, 7, 84])],
      { names: `{0: 'a', 1: 'b'}` },
      /7 channels but 2 class names/,
    ],
  ])('rejects %s', (_what, inputs, outputs, metadata, problem) => {
    expect(yoloModelSpec(inputs, outputs, meta(metadata), undefined).problem).toMatch(problem);
  });
});
