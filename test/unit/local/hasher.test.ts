import { createHash } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DIGEST_LENGTHS, HASH_CHUNK_SIZE, createHasher, createHasherFactory, hashFile, hashPath, type Yielder,
} from '../../../src/sync/local/hasher.js';
import { useTempDirectories } from '../../helpers/temp.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('createHasher', () => {
  it('computes sha1 and sha256 of known vectors', async () => {
    const sha1 = await createHasher('sha1');
    sha1.update(new TextEncoder().encode('abc'));
    expect(hex(sha1.digest())).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    const sha256 = await createHasher('sha256');
    sha256.update(new TextEncoder().encode('abc'));
    expect(hex(sha256.digest())).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('computes xxh128 (16 bytes) and streams in pieces like in one go', async () => {
    const whole = await createHasher('xxh128');
    whole.update(new TextEncoder().encode('hello world'));
    const pieces = await createHasher('xxh128');
    pieces.update(new TextEncoder().encode('hello '));
    pieces.update(new TextEncoder().encode('world'));
    const digest = whole.digest();
    expect(digest.byteLength).toBe(DIGEST_LENGTHS.xxh128);
    expect(hex(pieces.digest())).toBe(hex(digest));
    // xxh3-128 of the empty input, canonical (big-endian) form.
    const empty = await createHasher('xxh128');
    expect(hex(empty.digest())).toBe('99aa06d3014798d86001c324468d497f');
  });

  it('hands out independent digests from a reused xxh128 factory', async () => {
    const next = await createHasherFactory('xxh128');
    const a = next();
    a.update(new Uint8Array([1]));
    const first = a.digest();
    const b = next();
    b.update(new Uint8Array([2]));
    const second = b.digest();
    expect(hex(first)).not.toBe(hex(second));
    const again = next();
    again.update(new Uint8Array([1]));
    expect(hex(again.digest())).toBe(hex(first));
  });
});

describe('hashing files', () => {
  let dir = '';
  const temp = useTempDirectories();
  beforeEach(async () => {
    dir = await temp('hasher-');
  });

  const neverDue: Yielder = { due: () => false, pause: () => Promise.resolve() };

  it('hashFile streams a multi-chunk file through a small buffer', async () => {
    const content = Buffer.alloc(3 * 1000 + 17, 0x61);
    const file = path.join(dir, 'f');
    await writeFile(file, content);
    const handle = await open(file);
    try {
      const result = await hashFile(handle, undefined, { algorithm: 'sha256', buffer: new Uint8Array(1000) });
      expect(result.bytesRead).toBe(content.length);
      expect(hex(result.digest)).toBe(createHash('sha256').update(content).digest('hex'));
    } finally {
      await handle.close();
    }
  });

  it('hashFile stops with the abort reason', async () => {
    const file = path.join(dir, 'f');
    await writeFile(file, 'x');
    const handle = await open(file);
    try {
      await expect(hashFile(handle, AbortSignal.abort(new Error('stop')))).rejects.toThrow('stop');
    } finally {
      await handle.close();
    }
  });

  it('hashPath hashes small files synchronously and large ones with pauses', async () => {
    const small = path.join(dir, 'small');
    await writeFile(small, 'abc');
    const direct = hashPath(small, 3, await createHasher('sha1'), new Uint8Array(HASH_CHUNK_SIZE), neverDue);
    expect(direct).not.toBeInstanceOf(Promise);
    expect(direct).toMatchObject({ kind: 'hashed', bytesRead: 3 });

    const large = path.join(dir, 'large');
    const content = Buffer.alloc(10_000, 0x62);
    await writeFile(large, content);
    let pauses = 0;
    const alwaysDue: Yielder = { due: () => true, pause: () => { pauses++; return Promise.resolve(); } };
    const pending = hashPath(large, content.length, await createHasher('sha1'), new Uint8Array(1024), alwaysDue);
    expect(pending).toBeInstanceOf(Promise);
    const result = await pending;
    expect(result.kind).toBe('hashed');
    if (result.kind === 'hashed') expect(hex(result.digest)).toBe(createHash('sha1').update(content).digest('hex'));
    expect(pauses).toBeGreaterThan(5);
  });

  it('hashPath reports a size that differs from the expected one', async () => {
    const file = path.join(dir, 'f');
    await writeFile(file, 'abcdef');
    expect(hashPath(file, 4, await createHasher('sha1'), new Uint8Array(1024), neverDue))
      .toEqual({ kind: 'problem', problem: 'hashed size mismatch: 6 != 4' });
    // A file shorter than expected is read until end of file, possibly across a pause.
    expect(await hashPath(file, 9, await createHasher('sha1'), new Uint8Array(1024), neverDue))
      .toEqual({ kind: 'problem', problem: 'hashed size mismatch: 6 != 9' });
  });

  it('hashPath tells a vanished file from one that cannot be opened', async () => {
    expect(hashPath(path.join(dir, 'missing'), 0, await createHasher('sha1'), new Uint8Array(16), neverDue)).toEqual({ kind: 'vanished' });
    const result = hashPath(dir, 0, await createHasher('sha1'), new Uint8Array(16), neverDue);
    // A directory opens but cannot be read.
    expect(result).toMatchObject({ kind: 'problem' });
    if (!(result instanceof Promise) && result.kind === 'problem') expect(result.problem).toMatch(/^unable to hash file contents: EISDIR/);
  });
});
