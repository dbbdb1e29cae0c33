import { InvalidStorageKeyError } from './errors';
import { MAX_KEY_LENGTH, validateKey, validatePrefix } from './keys';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidStorageKeyError);
    return (error as InvalidStorageKeyError).reason;
  }
  throw new Error('expected the key to be rejected');
}

describe('validateKey', () => {
  it.each([
    'a',
    'videos/42/original.mp4',
    'videos/42/frames/000123.jpg',
    '_private/x',
    'exports/2024-01-01T00-00-00.csv',
    'a/b.c/d_e-f',
  ])('accepts %j', (key) => {
    expect(validateKey(key)).toBe(key);
  });

  it.each([
    ['an empty key', '', /empty/],
    ['an absolute path', '/etc/passwd', /absolute/],
    ['a lone ..', '..', /\.\. part/],
    ['a leading ..', '../secrets', /\.\. part/],
    ['a .. in the middle', 'videos/../../etc/passwd', /\.\. part/],
    ['a trailing ..', 'videos/..', /\.\. part/],
    ['a . part', 'videos/./a.jpg', /\. part/],
    ['a NUL byte', 'videos/a\0.jpg', /NUL/],
    ['a backslash', 'videos\\a.jpg', /backslash/],
    ['a Windows-style climb', '..\\..\\windows', /backslash/],
    ['a Windows drive', 'C:/x', /character/],
    ['a trailing slash', 'videos/42/', /ends with \//],
    ['an empty part', 'videos//a.jpg', /empty part/],
    ['a hidden part', 'videos/.a.jpg.tmp', /starts with a dot/],
    ['a part starting with -', 'videos/-rf', /character/],
    ['a space', 'my video.mp4', /character/],
    ['a plus sign', 'a+b.jpg', /character/],
    ['a percent sign', 'a%2e%2e/b', /character/],
    ['non-ASCII', 'vidéo.mp4', /character/],
    ['a newline', 'a\nb', /character/],
    ['a part over 255 characters', 'a'.repeat(256), /part is longer/],
    ['a key over 1024 characters', Array(300).fill('abcd').join('/'), /longer than 1024/],
  ])('rejects %s', (_what, key, expected) => {
    expect(reason(() => validateKey(key))).toMatch(expected);
  });

  it('accepts a key of exactly the maximum length', () => {
    const key =
      Array(205)
        .fill('abcd')
        .join('/')
        .slice(0, MAX_KEY_LENGTH - 1) + 'x';
    expect(key.length).toBe(MAX_KEY_LENGTH);
    expect(validateKey(key)).toBe(key);
  });

  it('names the key in the message', () => {
    expect(() => validateKey('../x')).toThrow('invalid storage key "../x"');
  });
});

describe('validatePrefix', () => {
  it.each(['', 'videos/', 'videos/42/frames/', 'videos/42/frames/0001', 'v'])('accepts %j', (p) => {
    expect(validatePrefix(p)).toBe(p);
  });

  it.each([
    ['an absolute prefix', '/'],
    ['an absolute folder', '/videos/'],
    ['a climb', '../'],
    ['a climb inside', 'videos/../'],
    ['a double slash', 'videos//'],
    ['a NUL byte', 'videos/\0'],
    ['a backslash', 'videos\\'],
  ])('rejects %s', (_what, prefix) => {
    expect(() => validatePrefix(prefix)).toThrow(InvalidStorageKeyError);
  });
});
