import type { BigIntStats } from 'node:fs';
import { lstatSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import {
  cacheEntryFromStat, cacheMatchesExactly, cacheMatchesStat, decodeScanCache, encodeScanCache, type CacheEntry,
} from '../../../src/sync/local/scan-cache.js';
import { Packr } from 'msgpackr';

describe('scan cache codec', () => {
  it('round-trips entries with nanosecond mtimes, large sizes and inodes', () => {
    const cache = new Map<string, CacheEntry>([
      ['', { mode: 0o100644, mtimeNs: 1_700_000_000_123_456_789n, size: 0, ino: 1, digest: new Uint8Array([1, 2, 3]) }],
      ['a/b é', { mode: 0o100755, mtimeNs: 0n, size: 2 ** 40, ino: 2 ** 50, digest: new Uint8Array(20).fill(7) }],
      ['old', { mode: 0o100600, mtimeNs: -5_000_000_001n, size: 12, ino: 0, digest: new Uint8Array([9]) }],
    ]);
    const decoded = decodeScanCache(encodeScanCache(cache));
    expect([...decoded.keys()]).toEqual(['', 'a/b é', 'old']);
    for (const [key, entry] of cache) {
      const got = decoded.get(key);
      expect(got?.mode).toBe(entry.mode);
      expect(got?.mtimeNs).toBe(entry.mtimeNs);
      expect(got?.size).toBe(entry.size);
      expect(got?.ino).toBe(entry.ino);
      expect(Buffer.from(got?.digest ?? [])).toEqual(Buffer.from(entry.digest));
    }
  });

  it('round-trips an empty cache', () => {
    expect(decodeScanCache(encodeScanCache(new Map())).size).toBe(0);
  });

  it('does not share memory with the input bytes', () => {
    const bytes = encodeScanCache(new Map([['f', { mode: 0o100644, mtimeNs: 1n, size: 1, ino: 1, digest: new Uint8Array([5, 5]) }]]));
    const decoded = decodeScanCache(bytes);
    bytes.fill(0);
    expect([...(decoded.get('f')?.digest ?? [])]).toEqual([5, 5]);
  });

  const packr = new Packr({ useRecords: false });
  const garbage: [string, Uint8Array][] = [
    ['empty input', new Uint8Array()],
    ['truncated data', encodeScanCache(new Map([['f', { mode: 1, mtimeNs: 1n, size: 1, ino: 1, digest: new Uint8Array([1]) }]])).subarray(0, 8)],
    ['a reserved byte', new Uint8Array([0xc1])],
    ['a wrong version', packr.pack([2, []])],
    ['a non-array', packr.pack({ a: 1 })],
    ['a ragged entry list', packr.pack([1, ['f', 1, 2, 3]])],
    ['a numeric path', packr.pack([1, [7, 1, 1, 1, 1, new Uint8Array([1])]])],
    ['a negative size', packr.pack([1, ['f', 1, 1, -1, 1, new Uint8Array([1])]])],
    ['an empty digest', packr.pack([1, ['f', 1, 1, 1, 1, new Uint8Array()]])],
    ['a string mtime', packr.pack([1, ['f', 1, '1', 1, 1, new Uint8Array([1])]])],
  ];
  it.each(garbage)('rejects %s with MUTAGEN_CORRUPT_RECORD', (_what, bytes) => {
    let caught: unknown;
    try {
      decodeScanCache(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MutagenError);
    expect((caught as MutagenError).code).toBe('MUTAGEN_CORRUPT_RECORD');
    expect((caught as MutagenError).message).toMatch(/^invalid scan cache: /);
  });
});

describe('cache decisions against real stats', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'scan-cache-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function stat(file: string): BigIntStats {
    return lstatSync(file, { bigint: true });
  }

  it('matches an unchanged file both ways', () => {
    const file = path.join(dir, 'f');
    writeFileSync(file, 'hello');
    const entry = cacheEntryFromStat(stat(file), new Uint8Array([1]));
    expect(entry.size).toBe(5);
    expect(cacheMatchesStat(entry, stat(file))).toBe(true);
    expect(cacheMatchesExactly(entry, stat(file))).toBe(true);
  });

  it('ignores permission bits for digest reuse but not for verification', () => {
    const file = path.join(dir, 'f');
    writeFileSync(file, 'hello', { mode: 0o644 });
    const entry = cacheEntryFromStat(stat(file), new Uint8Array([1]));
    chmodSync(file, 0o755);
    expect(cacheMatchesStat(entry, stat(file))).toBe(true);
    expect(cacheMatchesExactly(entry, stat(file))).toBe(false);
  });

  it('detects mtime, size, inode and type differences', () => {
    const file = path.join(dir, 'f');
    writeFileSync(file, 'hello');
    const base = cacheEntryFromStat(stat(file), new Uint8Array([1]));
    const now = stat(file);
    const variants: CacheEntry[] = [
      { ...base, mtimeNs: base.mtimeNs + 1n },
      { ...base, size: base.size + 1 },
      { ...base, ino: base.ino + 1 },
      { ...base, mode: (base.mode & 0o7777) | 0o040000 },
    ];
    for (const variant of variants) {
      expect(cacheMatchesStat(variant, now)).toBe(false);
      expect(cacheMatchesExactly(variant, now)).toBe(false);
    }
  });
});
