import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { Entry } from '../../../src/model/entry.js';
import { decodeEntry, encodeEntry } from '../../../src/sync/core/codec.js';
import { entriesEqual } from '../../../src/sync/core/entries.js';
import {
  dirEntry as D, fileEntry, phantomEntry, problematicEntry, symlinkEntry, untrackedEntry,
} from '../../../src/sync/core/tree.js';
import { prng, randomTree } from './fixtures/random.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

function codeOf(value: unknown): string | undefined {
  try {
    decodeEntry(value);
  } catch (error) {
    return error instanceof MutagenError ? error.code : `not a MutagenError: ${String(error)}`;
  }
  return undefined;
}

describe('codec', () => {
  const all = D({
    f: fileEntry(new Uint8Array([0, 1, 0xab, 0xff]), true),
    l: symlinkEntry('../x'),
    u: untrackedEntry(),
    p: problematicEntry('unable to open file'),
    ph: phantomEntry({ k: fileEntry('K') }),
    e: D(),
  });

  it('encodes deterministically with sorted children and hex digests', () => {
    expect(encodeEntry(undefined)).toBeNull();
    expect(encodeEntry(D({ b: untrackedEntry(), a: fileEntry(new Uint8Array([0x0f, 0xa0])) }))).toEqual({
      kind: 'directory',
      contents: [['a', { kind: 'file', digest: '0fa0', executable: false }], ['b', { kind: 'untracked' }]],
    });
    const reordered: Entry = { kind: 'directory', contents: new Map([...(all.kind === 'directory' ? all.contents : [])].reverse()) };
    expect(JSON.stringify(encodeEntry(reordered))).toBe(JSON.stringify(encodeEntry(all)));
    expect(packr.pack(encodeEntry(reordered))).toEqual(packr.pack(encodeEntry(all)));
  });

  it('round-trips every kind through JSON and msgpack', () => {
    for (const e of [all, undefined, fileEntry('x'), untrackedEntry()]) {
      expect(decodeEntry(JSON.parse(JSON.stringify(encodeEntry(e))))).toEqual(e);
      expect(decodeEntry(packr.unpack(packr.pack(encodeEntry(e))))).toEqual(e);
    }
  });

  it('round-trips random trees', () => {
    const random = prng(7);
    for (let i = 0; i < 200; i++) {
      const tree = randomTree(random, 4, true);
      expect(entriesEqual(decodeEntry(packr.unpack(packr.pack(encodeEntry(tree)))), tree, true)).toBe(true);
    }
  });

  it('accepts raw digest bytes (a msgpack bin) and copies them', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const decoded = decodeEntry({ kind: 'file', digest: bytes, executable: false });
    expect(decoded).toEqual(fileEntry(new Uint8Array([1, 2, 3])));
    expect(decoded?.kind === 'file' && decoded.digest !== bytes).toBe(true);
  });

  const file = (over: Record<string, unknown>): Record<string, unknown> => ({ kind: 'file', digest: 'ab', executable: false, ...over });
  const dir = (contents: unknown): unknown => ({ kind: 'directory', contents });
  const malformed: [string, unknown][] = [
    ['a number', 42],
    ['an array', []],
    ['unknown kind', { kind: 'socket' }],
    ['missing kind', { contents: [] }],
    ['file with contents', file({ contents: [] })],
    ['file with target', file({ target: 'x' })],
    ['file without digest', { kind: 'file', executable: false }],
    ['empty digest', file({ digest: '' })],
    ['empty digest bytes', file({ digest: new Uint8Array() })],
    ['odd-length digest', file({ digest: 'abc' })],
    ['uppercase digest', file({ digest: 'AB' })],
    ['non-hex digest', file({ digest: 'zz' })],
    ['non-boolean executable', file({ executable: 1 })],
    ['missing executable', { kind: 'file', digest: 'ab' }],
    ['symlink with empty target', { kind: 'symlink', target: '' }],
    ['symlink with digest', { kind: 'symlink', target: 'x', digest: 'ab' }],
    ['problematic without problem', { kind: 'problematic', problem: '' }],
    ['untracked with a field', { kind: 'untracked', executable: false }],
    ['directory contents not an array', dir({ a: { kind: 'untracked' } })],
    ['directory without contents', { kind: 'directory' }],
    ['pair of wrong length', dir([['a']])],
    ['non-string name', dir([[1, { kind: 'untracked' }]])],
    ['empty name', dir([['', { kind: 'untracked' }]])],
    ['dot name', dir([['.', { kind: 'untracked' }]])],
    ['dot-dot name', dir([['..', { kind: 'untracked' }]])],
    ['name with a slash', dir([['a/b', { kind: 'untracked' }]])],
    ['duplicate names', dir([['a', { kind: 'untracked' }], ['a', { kind: 'untracked' }]])],
    ['nil child', dir([['a', null]])],
    ['malformed grandchild', dir([['a', dir([['b', file({ digest: 'x' })]])]])],
  ];

  it.each(malformed)('rejects %s with MUTAGEN_ARCHIVE', (_name, value) => {
    expect(codeOf(value)).toBe('MUTAGEN_ARCHIVE');
  });

  it('names the offending path', () => {
    expect(() => decodeEntry(dir([['a', dir([['b', file({ digest: 'x' })]])]]))).toThrow(/"a\/b"/);
  });

  it('rejects absurd nesting with MUTAGEN_ARCHIVE instead of crashing', () => {
    let value: unknown = { kind: 'untracked' };
    for (let i = 0; i < 200_000; i++) value = { kind: 'directory', contents: [['d', value]] };
    expect(codeOf(value)).toBe('MUTAGEN_ARCHIVE');
  });

  it('decodes null and undefined as the absent tree', () => {
    expect(decodeEntry(null)).toBeUndefined();
    expect(decodeEntry(undefined)).toBeUndefined();
  });
});
