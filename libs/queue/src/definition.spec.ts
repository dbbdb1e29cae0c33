import { z } from 'zod';
import { defineQueue } from './definition';
import { QueueConfigError } from './errors';

const schema = z.object({ videoId: z.string(), frame: z.number().int() });
const queue = defineQueue({ name: 'frames', schema, keyPrefix: 'unit:' });

describe('defineQueue codec', () => {
  it('round-trips a job, keeping the exact payload string', () => {
    const { id, payload } = queue.encode(
      { data: { videoId: 'v1', frame: 3 }, id: 'v1:3', group: 'v1' },
      1000,
    );
    expect(id).toBe('v1:3');
    const decoded = queue.decode(payload);
    expect(decoded).toEqual({
      ok: true,
      job: {
        id: 'v1:3',
        group: 'v1',
        enqueuedAt: 1000,
        data: { videoId: 'v1', frame: 3 },
        payload,
      },
    });
  });

  it('gives each job a unique id by default', () => {
    const a = queue.encode({ data: { videoId: 'v', frame: 1 } });
    const b = queue.encode({ data: { videoId: 'v', frame: 1 } });
    expect(a.id).not.toBe(b.id);
  });

  it('refuses invalid data at enqueue', () => {
    expect(() => queue.encode({ data: { videoId: 'v', frame: 1.5 } })).toThrow();
  });

  it('reports malformed payloads without throwing, with the id when readable', () => {
    expect(queue.decode('not json')).toEqual({
      ok: false,
      jobId: undefined,
      error: 'payload is not JSON',
    });
    const bad = queue.decode(JSON.stringify({ id: 'j1', at: 1, data: { videoId: 5 } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.jobId).toBe('j1');
      expect(bad.error).toMatch(/videoId/);
    }
  });

  it('writes the group right after the id, as the cancel script expects', () => {
    const { payload } = queue.encode({ data: { videoId: 'v', frame: 1 }, id: 'j', group: 'v"9' });
    expect(payload.startsWith(`{"id":"j",${queue.groupNeedle('v"9')},`)).toBe(true);
  });

  it('validates its limits', () => {
    expect(() => defineQueue({ name: 'q', schema, maxDeliveries: 0 })).toThrow(QueueConfigError);
    expect(() =>
      defineQueue({ name: 'q', schema, retry: { baseDelayMs: 10, maxDelayMs: 1 } }),
    ).toThrow(QueueConfigError);
  });
});
