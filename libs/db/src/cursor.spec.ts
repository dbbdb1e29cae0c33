import { decodeCursor, encodeCursor } from './cursor';
import { InvalidCursorError } from './errors';

describe('cursors', () => {
  it('round-trip a position for the same listing', () => {
    expect(decodeCursor('videos', encodeCursor('videos', 'abc'))).toBe('abc');
    expect(decodeCursor('detections', encodeCursor('detections', 42))).toBe(42);
  });

  it('refuse a cursor of another listing, or one that was edited', () => {
    expect(() => decodeCursor('videos', encodeCursor('detections', 1))).toThrow(InvalidCursorError);
    expect(() => decodeCursor('videos', 'not base64 json')).toThrow(InvalidCursorError);
    const forged = Buffer.from(JSON.stringify(['videos', { evil: true }])).toString('base64url');
    expect(() => decodeCursor('videos', forged)).toThrow(InvalidCursorError);
  });
});
