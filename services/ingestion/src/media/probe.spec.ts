import { interpretProbe } from './probe';

const stream = {
  codec_type: 'video',
  codec_name: 'h264',
  width: 1920,
  height: 1080,
  avg_frame_rate: '30/1',
  duration: '10',
};

describe('interpretProbe', () => {
  it('reads size, rate, duration and frame count of the first video stream', () => {
    expect(interpretProbe({ streams: [{ ...stream, nb_frames: '300' }] })).toEqual({
      ok: true,
      probe: { durationS: 10, fps: 30, width: 1920, height: 1080, codec: 'h264' },
      frames: 300,
    });
  });

  it.each([
    ['a display matrix', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] }],
    ['a display matrix', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: 270 }] }],
    ['a rotate tag', { tags: { rotate: '90' } }],
  ])('reports the upright size of a stream rotated a quarter turn by %s', (_, rotation) => {
    const outcome = interpretProbe({ streams: [{ ...stream, ...rotation }] });
    expect(outcome).toMatchObject({ ok: true, probe: { width: 1080, height: 1920 } });
  });

  it('keeps the size of a stream turned upside down', () => {
    const rotated = { side_data_list: [{ side_data_type: 'Display Matrix', rotation: 180 }] };
    const outcome = interpretProbe({ streams: [{ ...stream, ...rotated }] });
    expect(outcome).toMatchObject({ ok: true, probe: { width: 1920, height: 1080 } });
  });

  it('refuses a stream without a usable size', () => {
    expect(interpretProbe({ streams: [{ ...stream, width: 0 }] })).toMatchObject({
      ok: false,
      reason: 'undecodable',
    });
  });
});
