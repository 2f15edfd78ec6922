import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { digestHex } from '../../../src/model/entry.js';
import { StagingReceiver } from '../../../src/sync/local/receiver.js';
import { StagingStore } from '../../../src/sync/local/staging.js';
import { EMPTY_SIGNATURE } from '../../../src/sync/rsync/types.js';
import { sha1, stage } from './transition-fixtures.js';

let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'mutagen-staging-'));
  root = path.join(base, 'staging');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function store(maxFileSize = Number.MAX_SAFE_INTEGER): StagingStore {
  return new StagingStore({ root, hash: 'sha1', maxFileSize });
}

async function filesUnder(directory: string): Promise<string[]> {
  const names = await readdir(directory, { recursive: true, withFileTypes: true });
  return names.filter((d) => d.isFile()).map((d) => path.relative(directory, path.join(d.parentPath, d.name))).sort();
}

describe('StagingStore', () => {
  it('creates its root with mode 0700; a later store keeps journaled files and removes partial ones', async () => {
    const s = store();
    await s.initialize();
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    const digest = await stage(s, 'kept', 'content');
    await s.persist();
    const unjournaled = await stage(s, 'lost', 'never journaled');
    await writeFile(path.join(root, '.mutagen-temporary-staging-leftover'), 'partial');
    await mkdir(path.join(root, 'ab'));
    await writeFile(path.join(root, 'ab', 'old-layout'), 'x');
    // a process that starts afterwards (crash or restart) finds only what the journal lists
    const later = store();
    await later.initialize();
    const kept = await later.stagedFile('kept', digest);
    expect(kept).toBeDefined();
    expect(await readFile(kept ?? '', 'utf8')).toBe('content');
    expect(await later.contains('lost', unjournaled)).toBe(false);
    expect(await filesUnder(root)).toEqual([path.relative(root, kept ?? ''), 'journal'].sort());
  });

  it('journals a large file at once, so a crash right after its commit does not lose it', async () => {
    const s = store();
    await s.initialize();
    const small = await stage(s, 'small', 'not yet journaled');
    const large = await stage(s, 'large', Buffer.alloc(1024 * 1024, 7));
    const later = store();
    await later.initialize();
    expect(await later.contains('large', large)).toBe(true);
    expect(await later.contains('small', small)).toBe(true);
  });

  it('ignores a torn or malformed journal line', async () => {
    const s = store();
    await s.initialize();
    const digest = await stage(s, 'a', 'A');
    await s.persist();
    const journal = path.join(root, 'journal');
    await writeFile(journal, `${await readFile(journal, 'utf8')}["x","zz","b"]\n[1,2,3]\n{"not":"a record"}\n["half-writ`);
    const later = store();
    await later.initialize();
    expect(await later.contains('a', digest)).toBe(true);
    expect(await filesUnder(root)).toHaveLength(2);
  });


  it('keeps a file journaled in the flat layout of earlier versions, and never follows a name out of its shards', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, '0a1b2c3d4e5f-7'), 'flat');
    await writeFile(path.join(base, 'outside'), 'outside');
    const flat = digestHex(sha1('flat'));
    const lines = [['0a1b2c3d4e5f-7', flat, 'old'], ['../outside', digestHex(sha1('outside')), 'escape'], ['0/../../outside', flat, 'escape2']];
    await writeFile(path.join(root, 'journal'), lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    const s = store();
    await s.initialize();
    expect(await s.stagedFile('old', sha1('flat'))).toBe(path.join(root, '0a1b2c3d4e5f-7'));
    expect(await s.contains('escape', sha1('outside'))).toBe(false);
    expect(await s.contains('escape2', sha1('flat'))).toBe(false);
    // staged now: into a shard
    const digest = await stage(s, 'new', 'new content');
    expect(path.relative(root, (await s.stagedFile('new', digest)) ?? '')).toMatch(/^[0-9a-z]+\/[0-9a-f]+-[0-9a-z]+$/);
    await s.wipe();
    await s.cleaned();
    expect(await readFile(path.join(base, 'outside'), 'utf8')).toBe('outside');
    await expect(stat(root)).rejects.toThrow();
  });
  it('finds a committed file by the path and the digest it computed, with its stat', async () => {
    const s = new StagingStore({ root, hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER, fileMode: 0o640 });
    await s.initialize();
    const digest = await stage(s, 'dir/file.txt', 'hello world');
    expect(digestHex(digest)).toBe(digestHex(sha1('hello world')));
    const staged = s.lookup('dir/file.txt', digest);
    expect(staged).toBeDefined();
    expect(path.dirname(path.dirname(staged?.file ?? ''))).toBe(root);
    expect(await readFile(staged?.file ?? '', 'utf8')).toBe('hello world');
    const onDisk = await stat(staged?.file ?? '', { bigint: true });
    expect(staged?.stat?.ino).toBe(onDisk.ino);
    expect(staged?.stat?.mtimeNs).toBe(onDisk.mtimeNs);
    expect(Number(onDisk.mode) & 0o777).toBe(0o640 & ~process.umask());
    expect(await s.contains('dir/file.txt', digest)).toBe(true);
    // the same bytes staged for another path are a different file
    expect(await s.contains('other.txt', digest)).toBe(false);
    s.release('dir/file.txt', digest);
    expect(await s.contains('dir/file.txt', digest)).toBe(false);
  });

  it('replaces an earlier file staged for the same path and digest', async () => {
    const s = store();
    await s.initialize();
    const first = await stage(s, 'f', 'same');
    const firstFile = await s.stagedFile('f', first);
    const second = await stage(s, 'f', 'same');
    expect(await s.stagedFile('f', second)).not.toBe(firstFile);
    expect(await filesUnder(root)).toHaveLength(1);
  });

  it('does not find bytes that differ from the expected digest under the expected digest', async () => {
    const s = store();
    await s.initialize();
    const expected = sha1('the content the scan saw');
    const received = await stage(s, 'file', 'the content that changed in transit');
    expect(digestHex(received)).not.toBe(digestHex(expected));
    expect(await s.stagedFile('file', expected)).toBeUndefined();
    expect(await s.contains('file', expected)).toBe(false);
    expect(await s.contains('file', received)).toBe(true);
  });

  it('hashes while streaming many chunks larger than its write buffer', async () => {
    const s = new StagingStore({ root, hash: 'sha256', maxFileSize: Number.MAX_SAFE_INTEGER });
    await s.initialize();
    const sink = await s.createSink('big');
    const whole = createHash('sha256');
    const sizes = [1, 70_000, 3, 65_536, 200_000, 17];
    let total = 0;
    for (const [i, size] of sizes.entries()) {
      const chunk = Buffer.alloc(size, i + 1);
      whole.update(chunk);
      total += size;
      await sink.write(chunk);
    }
    const digest = await sink.commit();
    expect(digestHex(digest)).toBe(whole.digest('hex'));
    const staged = await s.stagedFile('big', digest);
    expect((await stat(staged ?? '')).size).toBe(total);
  });

  it('stages a large replacement (flushed while it is written) byte for byte; closes its descriptor, aborted or not', async () => {
    const s = store();
    await s.initialize();
    // Descriptors of staged files this process holds (the journal's aside).
    const openDescriptors = async (): Promise<number> => {
      const targets = await Promise.all((await readdir('/proc/self/fd')).map(async (fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      return targets.filter((target) => target.startsWith(`${root}/`) && path.basename(target) !== 'journal').length;
    };
    const sink = await s.createSink('replaced', true);
    const whole = createHash('sha1');
    for (let i = 0; i < 40; i++) {
      const chunk = Buffer.alloc(1024 * 1024, i);
      whole.update(chunk);
      await sink.write(chunk);
    }
    const digest = await sink.commit();
    expect(digestHex(digest)).toBe(whole.digest('hex'));
    const staged = await s.stagedFile('replaced', digest);
    expect(createHash('sha1').update(await readFile(staged ?? '')).digest('hex')).toBe(digestHex(digest));
    await vi.waitFor(async () => expect(await openDescriptors()).toBe(0));
    const aborted = await s.createSink('aborted', true);
    for (let i = 0; i < 20; i++) await aborted.write(Buffer.alloc(1024 * 1024, i));
    expect(await openDescriptors()).toBe(1);
    await aborted.abort();
    expect(await openDescriptors()).toBe(0);
    expect(await filesUnder(root)).toEqual([path.relative(root, staged ?? ''), 'journal'].sort());
  });

  it('stages files received whole without a sink once its root is ready, as a sink would', async () => {
    const s = store(65_536);
    const sinks = vi.spyOn(s, 'createSink');
    const paths = ['a', 'dir/b', 'c', 'd', 'too-big'];
    const contents = [Buffer.from('first, before the root exists'), Buffer.alloc(65_536, 3), Buffer.from('third'), Buffer.alloc(1, 9), Buffer.alloc(65_537, 1)];
    const receiver = new StagingReceiver(base, paths, paths.map(() => EMPTY_SIGNATURE), s);
    for (const content of contents) await receiver.writeWhole(content, content.length);
    await receiver.finish();
    await s.settled();
    // The first file made the root (through a sink); the one past the size limit failed in one.
    expect(sinks.mock.calls.map(([relative]) => relative)).toEqual(['a', 'too-big']);
    for (const [index, relative] of paths.slice(0, 4).entries()) {
      const content = contents[index] ?? Buffer.alloc(0);
      const staged = await s.stagedFile(relative, sha1(content));
      expect(staged, relative).toBeDefined();
      expect(await readFile(staged ?? '')).toEqual(content);
    }
    expect(await s.contains('too-big', sha1(contents[4] ?? Buffer.alloc(0)))).toBe(false);
    expect(receiver.progress()).toBeUndefined();
    // Still a content check: bytes that are not what the scan saw are not found under its digest.
    const later = new StagingReceiver(base, ['e'], [EMPTY_SIGNATURE], s);
    await later.writeWhole(Buffer.from('changed in transit'), 18);
    await later.finish();
    await s.settled();
    expect(await s.contains('e', sha1('what the scan saw'))).toBe(false);
    expect(await s.contains('e', sha1('changed in transit'))).toBe(true);
    expect(sinks).toHaveBeenCalledTimes(2);
  });

  it('fails a write past the maximum staging file size and stages nothing', async () => {
    const s = store(10);
    await s.initialize();
    const exact = await stage(s, 'exact', '0123456789');
    expect(await s.contains('exact', exact)).toBe(true);
    const sink = await s.createSink('too-big');
    await sink.write(Buffer.from('012345'));
    const error: unknown = await sink.write(Buffer.from('67890')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MutagenError);
    expect((error as MutagenError).code).toBe('MUTAGEN_STAGING');
    expect((error as MutagenError).message).toContain('maximum staging file size');
    await expect(sink.commit()).rejects.toThrow(MutagenError);
    await sink.abort();
    expect(await s.contains('too-big', sha1('01234567890'))).toBe(false);
    expect(await filesUnder(root)).toHaveLength(1);
  });

  it('leaves nothing behind when a sink is aborted', async () => {
    const s = store();
    await s.initialize();
    const sink = await s.createSink('file');
    await sink.write(Buffer.from('partial'));
    await sink.abort();
    await sink.abort();
    expect(await filesUnder(root)).toEqual([]);
  });

  it('wipes the whole root and can be used again afterwards', async () => {
    const s = store();
    await s.initialize();
    const digest = await stage(s, 'a', 'A');
    await mkdir(path.join(root, 'extra'));
    await s.persist();
    await s.wipe();
    // the journal goes at once (a later process keeps nothing), the rest off the loop
    await expect(stat(path.join(root, 'journal'))).rejects.toThrow();
    expect(await s.contains('a', digest)).toBe(false);
    await s.cleaned();
    await expect(stat(root)).rejects.toThrow();
    const again = await stage(s, 'a', 'A');
    expect(await s.contains('a', again)).toBe(true);
    await s.wipe();
    await s.wipe();
    await s.cleaned();
    await expect(stat(root)).rejects.toThrow();
  });

  it('a new stage phase right after a wipe waits for the old root to go, and keeps what it stages', async () => {
    const s = store();
    await s.initialize();
    for (let i = 0; i < 200; i++) await stage(s, `f${i}`, `content ${i}`);
    await s.wipe();
    const digest = await stage(s, 'new', 'staged after the wipe');
    await s.cleaned();
    const file = await s.stagedFile('new', digest);
    expect(await readFile(file ?? '', 'utf8')).toBe('staged after the wipe');
    expect(await filesUnder(root)).toEqual([path.relative(root, file ?? '')]);
  });

  it('does not keep a journaled file that a transition already placed by hard link (process ended before the wipe)', async () => {
    const s = store();
    await s.initialize();
    const placed = await stage(s, 'placed', 'placed content');
    const kept = await stage(s, 'kept', 'kept content');
    await s.persist();
    // the transition links the staged file into the root; it may be edited in place there
    const staged = await s.stagedFile('placed', placed);
    await link(staged ?? '', path.join(base, 'placed'));
    await writeFile(path.join(base, 'placed'), 'edited in place');
    const later = store();
    await later.initialize();
    expect(await later.contains('placed', placed)).toBe(false);
    expect(await later.contains('kept', kept)).toBe(true);
    await expect(stat(staged ?? '')).rejects.toThrow();
  });
});
