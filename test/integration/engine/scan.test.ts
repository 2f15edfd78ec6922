import { execFileSync } from 'node:child_process';
import {
  chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { FilesystemBehavior } from '../../../src/sync/local/probe.js';
import {
  digestAt, entryAt, hex, makeTempDir, removeTempDir, scanTree, sha1, shape, writeTree,
} from './scan-helpers.js';

function rejectsWith(code: string, message: string | RegExp): (error: unknown) => boolean {
  return (error: unknown) => error instanceof MutagenError && error.code === code
    && (typeof message === 'string' ? error.message === message : message.test(error.message));
}

describe('scan: root handling (sync-semantics §2.1)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-root-');
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('an absent root is a normal absent snapshot', async () => {
    const output = await scanTree(path.join(dir, 'missing'));
    expect(output.snapshot.content).toBeUndefined();
    expect(output.snapshot).toMatchObject({ directories: 0, files: 0, symbolicLinks: 0, totalFileSize: 0 });
    expect(output.cache.size).toBe(0);
    expect(output.rootDevice).toBeUndefined();
  });

  it('an empty directory root is an empty directory', async () => {
    const output = await scanTree(dir);
    expect(shape(output.snapshot.content)).toEqual({});
    expect(output.snapshot).toMatchObject({ directories: 1, files: 0, preservesExecutability: true, decomposesUnicode: false });
    expect(output.rootDevice).toBe(lstatSync(dir, { bigint: true }).dev);
  });

  it('a file root is a File entry at "" with cache key ""', async () => {
    const file = path.join(dir, 'single');
    writeTree(dir, { single: { content: 'one file', mode: 0o755 } });
    const output = await scanTree(file);
    expect(shape(output.snapshot.content)).toBe('file+x');
    expect(digestAt(output.snapshot.content, '')).toBe(sha1('one file'));
    expect([...output.cache.keys()]).toEqual(['']);
    expect(output.snapshot).toMatchObject({ directories: 0, files: 1, totalFileSize: 8, decomposesUnicode: false });
    const again = await scanTree(file, { cache: output.cache });
    expect(again.hashedFiles).toBe(0);
    expect(again.cache).toBe(output.cache);
  });

  it('a symbolic link root is an error, a symbolic link in a parent component is fine', async () => {
    writeTree(dir, { real: { inner: { f: 'x' } }, alias: { link: 'real' } });
    await expect(scanTree(path.join(dir, 'alias'))).rejects.toSatisfy(
      rejectsWith('MUTAGEN_SCAN', 'unable to open synchronization root: root is a symbolic link'));
    const through = await scanTree(path.join(dir, 'alias', 'inner'));
    expect(shape(through.snapshot.content)).toEqual({ f: 'file' });
  });

  it('a root of another type is an error', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(scanTree(fifo)).rejects.toSatisfy(
      rejectsWith('MUTAGEN_SCAN', 'unable to open synchronization root: unsupported root type'));
  });

  it('an aborted signal rejects the scan', async () => {
    writeTree(dir, { f: 'x' });
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(scanTree(dir, { signal: controller.signal })).rejects.toThrow('stop now');
  });
});

describe('scan: walking (sync-semantics §2.3)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-walk-');
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('records files, directories and symlinks with statistics and a cache entry per file', async () => {
    writeTree(dir, {
      'a.txt': 'alpha',
      empty: {},
      sub: { 'b.txt': 'bravo!', deeper: { 'c.sh': { content: '#!/bin/sh\n', mode: 0o744 } }, link: { link: 'b.txt' } },
    });
    const output = await scanTree(dir);
    expect(shape(output.snapshot.content)).toEqual({
      'a.txt': 'file',
      empty: {},
      sub: { 'b.txt': 'file', deeper: { 'c.sh': 'file+x' }, link: '-> b.txt' },
    });
    expect(output.snapshot).toMatchObject({ directories: 4, files: 3, symbolicLinks: 1, totalFileSize: 5 + 6 + 10 });
    expect(digestAt(output.snapshot.content, 'sub/b.txt')).toBe(sha1('bravo!'));
    expect([...output.cache.keys()].sort()).toEqual(['a.txt', 'sub/b.txt', 'sub/deeper/c.sh']);
    expect(output.hashedFiles).toBe(3);
    expect(output.hashedBytes).toBe(21);
    const cached = output.cache.get('a.txt');
    const stat = lstatSync(path.join(dir, 'a.txt'), { bigint: true });
    expect(cached).toMatchObject({ mode: Number(stat.mode), mtimeNs: stat.mtimeNs, size: 5, ino: Number(stat.ino) });
  });

  it('never records .mutagen-temporary-* names', async () => {
    writeTree(dir, {
      '.mutagen-temporary-staging-1': 'partial',
      '.mutagen-temporary-dir': { f: 'x' },
      '.mutagen-temporary': 'no dash: not a temporary name',
      keep: 'k',
    });
    const output = await scanTree(dir);
    expect(shape(output.snapshot.content)).toEqual({ '.mutagen-temporary': 'file', keep: 'file' });
  });

  it('records FIFOs and sockets as untracked', async () => {
    writeTree(dir, { f: 'x' });
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'sock'), resolve));
    try {
      const output = await scanTree(dir);
      expect(shape(output.snapshot.content)).toEqual({ f: 'file', pipe: 'untracked', sock: 'untracked' });
      expect(output.snapshot.files).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('records a non-UTF-8 name under a substitute name as problematic, keeping valid U+FFFD names', async () => {
    writeTree(dir, { 'real \uFFFD char': 'valid name', ok: 'fine' });
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/hell`), Buffer.from([0xd6])]), 'bytes');
    mkdirSync(Buffer.concat([Buffer.from(`${dir}/dir`), Buffer.from([0xff, 0xfe])]));
    const output = await scanTree(dir);
    expect(shape(output.snapshot.content)).toEqual({
      'dir\uFFFD\uFFFD (non-UTF-8)': 'problem: non-UTF-8 filename',
      'hell\uFFFD (non-UTF-8)': 'problem: non-UTF-8 filename',
      ok: 'file',
      'real \uFFFD char': 'file',
    });
    expect(digestAt(output.snapshot.content, 'real \uFFFD char')).toBe(sha1('valid name'));
  });

  it('recomposes names to NFC when the filesystem decomposes, reading through the on-disk name', async () => {
    const decomposed = 'caf\u0065\u0301';
    writeTree(dir, { [decomposed]: 'coffee', [`dir-${decomposed}`]: { inner: 'x' } });
    const plain = await scanTree(dir);
    expect(Object.keys(shape(plain.snapshot.content) as object).sort()).toEqual([decomposed, `dir-${decomposed}`]);
    const device = lstatSync(dir, { bigint: true }).dev;
    const behaviorCache = new Map<bigint, FilesystemBehavior>([[device, { preservesExecutability: true, decomposesUnicode: true }]]);
    const output = await scanTree(dir, { behaviorCache });
    expect(output.snapshot.decomposesUnicode).toBe(true);
    expect(shape(output.snapshot.content)).toEqual({ 'caf\u00e9': 'file', 'dir-caf\u00e9': { inner: 'file' } });
    expect(digestAt(output.snapshot.content, 'caf\u00e9')).toBe(sha1('coffee'));
    expect(output.cache.has('dir-caf\u00e9/inner')).toBe(true);
  });

  it('skips entries that vanish: a file root removed before scanning is absent', async () => {
    const file = path.join(dir, 'gone');
    writeTree(dir, { gone: 'x' });
    renameSync(file, path.join(dir, 'elsewhere'));
    expect((await scanTree(file)).snapshot.content).toBeUndefined();
  });
});

describe('scan: executability and probing (sync-semantics §2.2, §2.4)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-exec-');
    writeTree(dir, { run: { content: 'x', mode: 0o711 }, other: { content: 'y', mode: 0o701 }, plain: { content: 'z', mode: 0o644 } });
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('portable mode records any execute bit when the filesystem preserves them', async () => {
    for (const probeMode of ['probe', 'assume'] as const) {
      const output = await scanTree(dir, { probeMode });
      expect(output.snapshot.preservesExecutability).toBe(true);
      expect(shape(output.snapshot.content)).toEqual({ run: 'file+x', other: 'file+x', plain: 'file' });
    }
    expect(readdirSync(dir).sort()).toEqual(['other', 'plain', 'run']);
  });

  it('manual permissions mode records every file as non-executable', async () => {
    const output = await scanTree(dir, { permissionsMode: 'manual' });
    expect(shape(output.snapshot.content)).toEqual({ run: 'file', other: 'file', plain: 'file' });
  });

  it('a filesystem that does not preserve executability records no execute bits', async () => {
    const device = lstatSync(dir, { bigint: true }).dev;
    const behaviorCache = new Map<bigint, FilesystemBehavior>([[device, { preservesExecutability: false, decomposesUnicode: false }]]);
    const probed = await scanTree(dir, { behaviorCache });
    expect(probed.snapshot.preservesExecutability).toBe(false);
    expect(shape(probed.snapshot.content)).toEqual({ run: 'file', other: 'file', plain: 'file' });
    // assume mode does not consult probe results.
    const assumed = await scanTree(dir, { behaviorCache, probeMode: 'assume' });
    expect(shape(assumed.snapshot.content)).toEqual({ run: 'file+x', other: 'file+x', plain: 'file' });
  });
});

describe('scan: the cache decision (sync-semantics §2.5)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-cache-');
    writeTree(dir, { a: 'first content', b: 'second', sub: { c: 'third' } });
    for (const name of ['a', 'b', 'sub/c']) utimesSync(path.join(dir, name), 1_600_000_000, 1_600_000_000);
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('a warm scan of an unchanged tree hashes nothing and returns the same cache object', async () => {
    const cold = await scanTree(dir);
    expect(cold.hashedFiles).toBe(3);
    const warm = await scanTree(dir, { cache: cold.cache });
    expect(warm.hashedFiles).toBe(0);
    expect(warm.cache).toBe(cold.cache);
    expect(warm.snapshot.content).toEqual(cold.snapshot.content);
  });

  it('a changed mtime alone forces a re-hash (same digest)', async () => {
    const cold = await scanTree(dir);
    utimesSync(path.join(dir, 'a'), 1_600_000_001, 1_600_000_001);
    const warm = await scanTree(dir, { cache: cold.cache });
    expect(warm.hashedFiles).toBe(1);
    expect(warm.hashedBytes).toBe('first content'.length);
    expect(digestAt(warm.snapshot.content, 'a')).toBe(digestAt(cold.snapshot.content, 'a'));
    expect(warm.cache.get('a')?.mtimeNs).toBe(1_600_000_001_000_000_000n);
    expect(warm.cache.get('b')).toBe(cold.cache.get('b'));
  });

  it('a chmod alone changes the executable bit and the cached mode without a re-hash', async () => {
    const cold = await scanTree(dir);
    chmodSync(path.join(dir, 'b'), 0o755);
    const warm = await scanTree(dir, { cache: cold.cache });
    expect(warm.hashedFiles).toBe(0);
    expect(shape(entryAt(warm.snapshot.content, 'b'))).toBe('file+x');
    expect(warm.cache.get('b')).not.toBe(cold.cache.get('b'));
    expect(warm.cache.get('b')?.mode).toBe(Number(lstatSync(path.join(dir, 'b')).mode));
    expect(warm.cache.get('b')?.digest).toBe(cold.cache.get('b')?.digest);
    expect(warm.cache.get('a')).toBe(cold.cache.get('a'));
  });

  it('an in-place rewrite with the same size and the same mtime is NOT detected (same as Mutagen)', async () => {
    const cold = await scanTree(dir);
    writeFileSync(path.join(dir, 'a'), 'FIRST CONTENT');
    utimesSync(path.join(dir, 'a'), 1_600_000_000, 1_600_000_000);
    const warm = await scanTree(dir, { cache: cold.cache });
    expect(warm.hashedFiles).toBe(0);
    // The stale digest is kept: the documented gotcha of stat-based caching.
    expect(digestAt(warm.snapshot.content, 'a')).toBe(sha1('first content'));
    const full = await scanTree(dir);
    expect(digestAt(full.snapshot.content, 'a')).toBe(sha1('FIRST CONTENT'));
  });

  it('a same-size, same-mtime replacement by rename is detected through the inode', async () => {
    const cold = await scanTree(dir);
    writeFileSync(path.join(dir, 'replacement'), 'FIRST CONTENT');
    utimesSync(path.join(dir, 'replacement'), 1_600_000_000, 1_600_000_000);
    renameSync(path.join(dir, 'replacement'), path.join(dir, 'a'));
    const warm = await scanTree(dir, { cache: cold.cache });
    expect(warm.hashedFiles).toBe(1);
    expect(digestAt(warm.snapshot.content, 'a')).toBe(sha1('FIRST CONTENT'));
  });

  it('the new cache holds only files seen in this scan', async () => {
    const cold = await scanTree(dir);
    renameSync(path.join(dir, 'sub', 'c'), path.join(dir, 'moved'));
    const warm = await scanTree(dir, { cache: cold.cache });
    expect([...warm.cache.keys()].sort()).toEqual(['a', 'b', 'moved']);
    // A rename keeps the inode and mtime, but the cache is keyed by path: the moved file is re-hashed.
    expect(warm.hashedFiles).toBe(1);
  });

  it('hashes with the configured algorithm', async () => {
    const sha256 = await scanTree(dir, { hash: 'sha256' });
    expect(entryAt(sha256.snapshot.content, 'a')).toMatchObject({ kind: 'file' });
    expect(hex((entryAt(sha256.snapshot.content, 'a') as { digest: Uint8Array }).digest)).toHaveLength(64);
    const xxh = await scanTree(dir, { hash: 'xxh128' });
    const digests = ['a', 'b', 'sub/c'].map((p) => digestAt(xxh.snapshot.content, p));
    expect(digests.every((d) => d?.length === 32)).toBe(true);
    expect(new Set(digests).size).toBe(3);
  });
});

describe('scan: symbolic links (sync-semantics §2.6)', () => {
  let dir = '';
  let root = '';
  beforeEach(() => {
    dir = makeTempDir('scan-links-');
    root = path.join(dir, 'myroot');
    writeTree(root, {
      file: 'target file',
      ok: { link: 'file' },
      dot: { link: './file' },
      down: { link: 'directory/other' },
      directory: { up: { link: '../file' }, 'symlink path': { link: '../../target' } },
      abs: { link: '/etc/passwd' },
      slash: { link: '/' },
      escape: { link: '../target' },
      'back-in': { link: '../myroot/file' },
      colon: { link: 'target:path' },
      backslash: { link: 'target\\path' },
      long: { link: 'x'.repeat(300) },
    });
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('portable mode keeps portable targets and marks the others problematic', async () => {
    const output = await scanTree(root, { symlinkMode: 'portable' });
    const invalid = (reason: string): string => `problem: invalid symbolic link: ${reason}`;
    expect(shape(output.snapshot.content)).toEqual({
      file: 'file',
      ok: '-> file',
      dot: '-> ./file',
      down: '-> directory/other',
      directory: { up: '-> ../file', 'symlink path': invalid('target references location outside synchronization root') },
      abs: invalid('target is absolute'),
      slash: invalid('target is absolute'),
      escape: invalid('target references location outside synchronization root'),
      'back-in': invalid('target references location outside synchronization root'),
      colon: invalid('colon in target (absolute or unsupported path)'),
      backslash: invalid('backslash in target'),
      long: invalid('target too long'),
    });
    expect(output.snapshot.symbolicLinks).toBe(4);
  });

  it('posix-raw mode records every target verbatim', async () => {
    const output = await scanTree(root, { symlinkMode: 'posix-raw' });
    expect(shape(output.snapshot.content)).toEqual({
      file: 'file',
      ok: '-> file',
      dot: '-> ./file',
      down: '-> directory/other',
      directory: { up: '-> ../file', 'symlink path': '-> ../../target' },
      abs: '-> /etc/passwd',
      slash: '-> /',
      escape: '-> ../target',
      'back-in': '-> ../myroot/file',
      colon: '-> target:path',
      backslash: '-> target\\path',
      long: `-> ${'x'.repeat(300)}`,
    });
    expect(output.snapshot.symbolicLinks).toBe(12);
  });

  it('ignore mode records every symbolic link as untracked', async () => {
    const output = await scanTree(root, { symlinkMode: 'ignore' });
    const content = shape(output.snapshot.content) as Record<string, unknown>;
    expect(content.file).toBe('file');
    expect(content.directory).toEqual({ up: 'untracked', 'symlink path': 'untracked' });
    for (const name of ['ok', 'dot', 'down', 'abs', 'slash', 'escape', 'back-in', 'colon', 'backslash', 'long']) {
      expect(content[name]).toBe('untracked');
    }
    expect(output.snapshot.symbolicLinks).toBe(0);
  });

  it('a target that is not valid UTF-8 is problematic in every recording mode', async () => {
    symlinkSync(Buffer.from([0x61, 0xff]), path.join(root, 'bytes'));
    for (const symlinkMode of ['portable', 'posix-raw'] as const) {
      const output = await scanTree(root, { symlinkMode });
      expect(shape(entryAt(output.snapshot.content, 'bytes'))).toBe('problem: symbolic link target is not valid UTF-8');
    }
  });

  it('never follows a symbolic link to a directory', async () => {
    symlinkSync('directory', path.join(root, 'dirlink'));
    const output = await scanTree(root);
    expect(shape(entryAt(output.snapshot.content, 'dirlink'))).toBe('-> directory');
  });
});

describe('scan: maximum entry count (sync-semantics §2.8)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-max-');
    // root + 2 directories + 3 files = 6 synchronizable entries; the FIFO does not count.
    writeTree(dir, { a: { f1: '1', f2: '2' }, b: { f3: '3' } });
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('allows exactly the maximum and rejects one more as retryable', async () => {
    const output = await scanTree(dir, { maxEntryCount: 6 });
    expect(output.snapshot).toMatchObject({ directories: 3, files: 3 });
    await expect(scanTree(dir, { maxEntryCount: 5 })).rejects.toSatisfy(
      rejectsWith('MUTAGEN_SCAN_RETRY', 'exceeded allowed entry count'));
  });

  it('treats 0 as unlimited', async () => {
    expect((await scanTree(dir, { maxEntryCount: 0 })).snapshot.files).toBe(3);
  });

  it('checks an unchanged baseline too', async () => {
    const first = await scanTree(dir);
    const baseline = { snapshot: first.snapshot, cache: first.cache, recheckPaths: new Set<string>() };
    await expect(scanTree(dir, { baseline, maxEntryCount: 2 })).rejects.toSatisfy(
      rejectsWith('MUTAGEN_SCAN_RETRY', 'exceeded allowed entry count'));
  });
});
