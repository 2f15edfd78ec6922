import { describe, expect, it } from 'vitest';
import { StagedIndex } from '../../../src/sync/local/staging-index.js';

const digest = (byte: number): Uint8Array => new Uint8Array(20).fill(byte);

describe('StagedIndex', () => {
  it('keeps files by path and digest, several digests per path, compared byte for byte', () => {
    const index = new StagedIndex();
    expect(index.set('a', digest(1), { file: '/s/1', stat: undefined })).toBeUndefined();
    expect(index.set('a', digest(2), { file: '/s/2', stat: undefined })).toBeUndefined();
    expect(index.set('a', digest(3), { file: '/s/3', stat: undefined })).toBeUndefined();
    expect(index.set('b', digest(1), { file: '/s/4', stat: undefined })).toBeUndefined();
    // An equal digest in another buffer finds the same file.
    expect(index.get('a', Uint8Array.from(digest(2)))?.file).toBe('/s/2');
    expect(index.get('a', digest(4))).toBeUndefined();
    expect(index.get('c', digest(1))).toBeUndefined();
    // Replacing returns what was there for that pair only.
    expect(index.set('a', digest(2), { file: '/s/5', stat: undefined })?.file).toBe('/s/2');
    expect(index.get('a', digest(2))?.file).toBe('/s/5');
    expect(index.delete('a', digest(1))?.file).toBe('/s/1');
    expect(index.delete('a', digest(1))).toBeUndefined();
    expect([1, 2, 3].map((byte) => index.get('a', digest(byte))?.file)).toEqual([undefined, '/s/5', '/s/3']);
    expect(index.delete('a', digest(3))?.file).toBe('/s/3');
    expect(index.delete('a', digest(2))?.file).toBe('/s/5');
    expect(index.get('a', digest(2))).toBeUndefined();
    expect(index.get('b', digest(1))?.file).toBe('/s/4');
    index.clear();
    expect(index.get('b', digest(1))).toBeUndefined();
  });
});
