import { isVideoId, newVideoId } from './ids';

describe('newVideoId', () => {
  it('makes RFC 9562 version 7 UUIDs carrying the time', () => {
    const id = newVideoId(Date.UTC(2025, 0, 1));
    expect(isVideoId(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2025, 0, 1));
  });

  it('sorts by creation time and never repeats', () => {
    const ids = [1, 2, 3].map((k) => newVideoId(1_700_000_000_000 + k * 1000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => newVideoId())).size).toBe(1000);
  });

  it('tells ids from other strings', () => {
    expect(isVideoId('not-a-uuid')).toBe(false);
    expect(isVideoId(`${newVideoId()}x`)).toBe(false);
  });
});
