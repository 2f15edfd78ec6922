import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { entryAt, makeTempDir, removeTempDir, scanTree, shape, writeTree, type Shape } from './scan-helpers.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const IS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/**
 * Scans `root` without root's permission bypass: in this process when it is not privileged,
 * otherwise in a child process running as `nobody`. Resolves to the shape of the content or to
 * `{ error }` with the rejection's code and message.
 */
async function scanUnprivileged(root: string): Promise<{ shape: Shape | undefined } | { error: string }> {
  if (!IS_ROOT) {
    try {
      return { shape: shape((await scanTree(root, { probeMode: 'assume' })).snapshot.content) };
    } catch (error) {
      return { error: error instanceof MutagenError ? `${error.code}: ${error.message}` : String(error) };
    }
  }
  const script = `
    const { scanTree, shape } = await import(${JSON.stringify(path.join(REPOSITORY, 'test/integration/engine/scan-helpers.ts'))});
    try {
      const output = await scanTree(${JSON.stringify(root)}, { probeMode: 'assume' });
      process.stdout.write(JSON.stringify({ shape: shape(output.snapshot.content) }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: error.code + ': ' + error.message }));
    }`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPOSITORY, uid: NOBODY, gid: NOBODY, encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`unprivileged scan failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { shape: Shape } | { error: string };
}

describe('scan problems (sync-semantics §2.7)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-problems-');
    chmodSync(dir, 0o755);
  });
  afterEach(() => {
    for (const name of ['root', 'root/closed', 'root/listable']) {
      try {
        chmodSync(path.join(dir, name), 0o755);
      } catch {
        // not created by this test
      }
    }
    removeTempDir(dir);
  });

  it('unreadable files and directories become problematic entries, not scan failures', async () => {
    const root = path.join(dir, 'root');
    writeTree(root, {
      secret: { content: 'hidden', mode: 0o000 },
      open: { content: 'visible', mode: 0o644 },
      closed: { inner: 'x' },
      listable: { inner: 'y' },
    });
    chmodSync(root, 0o755);
    chmodSync(path.join(root, 'closed'), 0o000);
    // Readable but not searchable: listing works, lstat of the children does not.
    chmodSync(path.join(root, 'listable'), 0o644);
    const result = await scanUnprivileged(root);
    expect(result).toEqual({
      shape: {
        closed: expect.stringMatching(/^problem: unable to open directory: EACCES: permission denied/) as string,
        listable: expect.stringMatching(/^problem: unable to read directory contents: EACCES: permission denied/) as string,
        open: 'file',
        secret: expect.stringMatching(/^problem: unable to open file: EACCES: permission denied/) as string,
      },
    });
  });

  it('an unreadable root fails the whole scan', async () => {
    const root = path.join(dir, 'root');
    writeTree(root, { f: 'x' });
    chmodSync(root, 0o000);
    const result = await scanUnprivileged(root);
    expect(result).toEqual({ error: expect.stringMatching(/^MUTAGEN_SCAN: unable to read synchronization root: unable to open directory: EACCES/) as string });
  });

  it('a file whose size differs from its stat is problematic (hashed size mismatch)', async () => {
    // procfs reports size 0 for files that do have content: a real, deterministic "changed size".
    const output = await scanTree('/proc/self/status', { probeMode: 'assume' });
    expect(output.snapshot.content?.kind).toBe('problematic');
    expect(shape(output.snapshot.content)).toMatch(/^problem: hashed size mismatch: [1-9]\d* != 0$/);
    expect(output.cache.size).toBe(0);
  });

  it('a file that cannot be read is problematic (unable to hash file contents)', async () => {
    // Reading /proc/self/mem at offset 0 fails with EIO.
    const output = await scanTree('/proc/self/mem', { probeMode: 'assume' });
    expect(shape(output.snapshot.content)).toMatch(/^problem: unable to hash file contents: EIO/);
  });

  it('a baseline whose cache lacks one of its files fails the scan', async () => {
    writeTree(dir, { sub: { f: 'x' }, other: { g: 'y' } });
    const first = await scanTree(dir);
    const partial = new Map(first.cache);
    partial.delete('sub/f');
    const baseline = { snapshot: first.snapshot, cache: partial, recheckPaths: new Set(['other/g']) };
    await expect(scanTree(dir, { cache: partial, baseline })).rejects.toSatisfy((error: unknown) =>
      error instanceof MutagenError && error.code === 'MUTAGEN_SCAN' && error.message === 'old cache entries do not correspond to baseline');
  });
});

describe('scan: filesystem boundaries (sync-semantics §2.3 step 6)', () => {
  let dir = '';
  let mounted = '';
  beforeEach(() => {
    dir = makeTempDir('scan-mount-');
  });
  afterEach(() => {
    if (mounted !== '') execFileSync('umount', [mounted]);
    mounted = '';
    removeTempDir(dir);
  });

  it('records a directory on another device as problematic and does not enter it', async () => {
    writeTree(dir, { local: { f: 'x' }, mnt: {} });
    let root = dir;
    let mountPoint = 'mnt';
    if (IS_ROOT) {
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(dir, 'mnt')]);
      mounted = path.join(dir, 'mnt');
      mkdirSync(path.join(mounted, 'inside'));
    } else {
      // Without privileges, use the system's own nested mounts: /dev/shm or /dev/pts under /dev.
      root = '/dev';
      mountPoint = 'shm';
    }
    const output = await scanTree(root, { probeMode: 'assume', symlinkMode: 'ignore' });
    expect(shape(entryAt(output.snapshot.content, mountPoint))).toBe('problem: scan crossed filesystem boundary');
    if (root === dir) expect(shape(entryAt(output.snapshot.content, 'local'))).toEqual({ f: 'file' });
  });
});
