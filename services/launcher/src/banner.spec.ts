import { banner } from './banner';

test('the banner gives the URL, the key and a curl line that uploads with it', () => {
  const text = banner({
    apiUrl: 'http://127.0.0.1:8080',
    apiKey: "fw_k'ey",
    dataDir: '/srv/.framewise',
    model: 'yolov8n.onnx',
    counts: { api: 1, extractor: 1, worker: 2, reaper: 1 },
  });
  expect(text).toContain('1 api, 1 extractor, 2 workers, 1 reaper');
  expect(text).toContain('http://127.0.0.1:8080');
  // The key is quoted for the shell, even with a quote in it.
  expect(text).toContain(
    `curl -sS -H 'Authorization: Bearer fw_k'\\''ey' -F file=@video.mp4 http://127.0.0.1:8080/v1/videos`,
  );
  expect(text).toContain('npm run demo');
});
