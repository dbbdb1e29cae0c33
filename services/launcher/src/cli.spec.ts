import { defaultWorkers, parseLauncherArgs } from './cli';

describe('parseLauncherArgs', () => {
  it('reads every flag', () => {
    expect(
      parseLauncherArgs([
        '--workers',
        '3',
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--data-dir',
        '/d',
        '--model',
        'm.onnx',
      ]),
    ).toEqual({
      workers: 3,
      port: 0,
      host: '0.0.0.0',
      dataDir: '/d',
      model: 'm.onnx',
      testModel: false,
      help: false,
    });
    expect(parseLauncherArgs(['--test-model'])).toEqual({ testModel: true, help: false });
  });

  it('refuses bad numbers, unknown flags and two model sources', () => {
    expect(() => parseLauncherArgs(['--workers', '0'])).toThrow(
      '--workers must be a whole number from 1 to 64, got "0"',
    );
    expect(() => parseLauncherArgs(['--port', '8080.5'])).toThrow('--port must be a whole number');
    expect(() => parseLauncherArgs(['--wrokers', '2'])).toThrow(/wrokers/);
    expect(() => parseLauncherArgs(['--model', 'a.onnx', '--test-model'])).toThrow(
      'either --model or --test-model',
    );
  });
});

test('defaultWorkers: one per two cores, at least one', () => {
  expect([1, 2, 3, 4, 16].map(defaultWorkers)).toEqual([1, 1, 1, 2, 8]);
});
