import { Writable } from 'node:stream';

/** A log destination that parses each JSON line a logger writes, for assertions. */
export function captureLogLines(): {
  lines: Record<string, unknown>[];
  destination: Writable;
} {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { lines, destination };
}
