import { extractionFilter, frameOutputArgs, jpegEncoderArgs } from './frame-format';

describe('frame format', () => {
  it('scales frames down after sampling, only when a frame size is set', () => {
    const scale =
      "scale=w='min(iw,640)':h='min(ih,640)':force_original_aspect_ratio=decrease:flags=bilinear" +
      ',format=yuvj444p';
    expect(extractionFilter({ kind: 'fps', fps: 5 }, 640)).toBe(`fps=5,${scale}`);
    expect(extractionFilter({ kind: 'all' }, 640)).toBe(scale);
    expect(extractionFilter({ kind: 'fps', fps: 5 }, 0)).toBe('fps=5');
    expect(extractionFilter({ kind: 'all' }, 0)).toBeUndefined();
  });

  it('lets the JPEG encoder reach its best quality', () => {
    expect(jpegEncoderArgs(1)).toEqual(['-c:v', 'mjpeg', '-qmin', '1', '-q:v', '1']);
  });

  it('puts graph, frame timing and encoder together, the encoder only with a quality', () => {
    const sampling = { kind: 'fps', fps: 5 } as const;
    expect(frameOutputArgs(sampling, 0, 3)).toEqual([
      ...['-vf', 'fps=5', '-fps_mode', 'passthrough'],
      ...jpegEncoderArgs(3),
    ]);
    expect(frameOutputArgs({ kind: 'all' }, 0, undefined)).toEqual(['-fps_mode', 'passthrough']);
  });
});
