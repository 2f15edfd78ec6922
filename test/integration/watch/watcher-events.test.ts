import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_PATHS } from '../../../src/watch/watcher.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { useWatchers } from './harness.js';

const temp = useTempDirectories();
const start = useWatchers();

async function tree(root: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), 'initial\n');
  }
}

describe('TreeWatcher events', () => {
  it('reports a file write with its root-relative path and signals', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['a/b/c/deep.txt', 'top.txt']);
    const h = await start(root);
    expect(h.watcher.state).toBe('watching');
    await appendFile(path.join(root, 'a/b/c/deep.txt'), 'more\n');
    await eventually(() => expect(h.collect(), h.status()).toContain('a/b/c/deep.txt'));
    await eventually(() => expect(h.signals()).toBeGreaterThan(0));
    expect(h.watcher.error).toBeUndefined();
  });

  it('reports a second write to the same file right after the first (no per-file throttling)', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['d/file.txt']);
    const h = await start(root);
    await appendFile(path.join(root, 'd/file.txt'), '1\n');
    await eventually(() => expect(h.collect(), h.status()).toContain('d/file.txt'));
    h.seen.clear();
    await appendFile(path.join(root, 'd/file.txt'), '2\n');
    await eventually(() => expect(h.collect(), h.status()).toContain('d/file.txt'));
  });

  it('reports creations, deletions and renames of files and directories', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['old/inner/x.txt', 'gone/y.txt', 'keep/z.txt']);
    const h = await start(root);
    await writeFile(path.join(root, 'keep/new.txt'), 'new');
    await rename(path.join(root, 'old'), path.join(root, 'renamed'));
    await rm(path.join(root, 'gone'), { recursive: true });
    await eventually(() => expect([...h.collect()], h.status()).toEqual(expect.arrayContaining(['keep/new.txt', 'old', 'renamed', 'gone'])));
    // The moved subtree is watched under its new name (retried: chokidar re-adds it asynchronously).
    await eventually(async () => {
      await appendFile(path.join(root, 'renamed/inner/x.txt'), 'moved and still watched\n');
      expect(h.collect(), h.status()).toContain('renamed/inner/x.txt');
    }, { intervalMs: 50 });
  });

  it('while held, records names without watching new directories; release walks them once, missing nothing', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['existing/a.txt']);
    const h = await start(root);
    h.watcher.hold();
    h.watcher.hold(); // holds nest
    await mkdir(path.join(root, 'made/deep'), { recursive: true });
    await writeFile(path.join(root, 'made/deep/inside.txt'), 'created while held');
    await writeFile(path.join(root, 'existing/b.txt'), 'created while held');
    await eventually(() => expect([...h.collect()], h.status()).toEqual(expect.arrayContaining(['made', 'existing/b.txt'])));
    h.watcher.release();
    // Still held: the new directory is not watched yet, so a write inside it goes unreported.
    await writeFile(path.join(root, 'made/deep/unseen.txt'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.collect()).not.toContain('made/deep/unseen.txt');
    h.watcher.release();
    // Released: the new directories are walked and reported (their files get re-listed) ...
    await eventually(() => expect([...h.collect()], h.status()).toEqual(expect.arrayContaining(['made/deep'])));
    // ... and watched from now on.
    await eventually(async () => {
      await appendFile(path.join(root, 'made/deep/inside.txt'), 'after release\n');
      expect(h.collect(), h.status()).toContain('made/deep/inside.txt');
    }, { intervalMs: 50 });
    expect(h.overflowed()).toBe(false);
  });

  it('covers the files of a directory created and filled at once, then watches it', async () => {
    const root = await temp('mt-watch-');
    const h = await start(root);
    const files: string[] = [];
    await mkdir(path.join(root, 'n1/n2/n3'), { recursive: true });
    for (let i = 0; i < 20; i++) {
      const file = `n1/n2/n3/f${i}.txt`;
      await writeFile(path.join(root, file), 'x');
      files.push(file);
    }
    // Each file is reported itself, or its directory is (the scanner re-lists a dirty directory).
    await eventually(() => {
      const seen = h.collect();
      if (h.overflowed()) return; // everything is dirty
      expect(files.filter((f) => !seen.has(f) && !seen.has(path.posix.dirname(f))), h.status()).toEqual([]);
    });
    await eventually(async () => {
      await appendFile(path.join(root, 'n1/n2/n3/later.txt'), 'later\n');
      expect(h.collect(), h.status()).toContain('n1/n2/n3/later.txt');
    }, { intervalMs: 50 });
  });

  it('discards events for .mutagen-temporary- names and anything under them', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['dir/real.txt']);
    const h = await start(root);
    await writeFile(path.join(root, '.mutagen-temporary-top'), 'x');
    await writeFile(path.join(root, 'dir/.mutagen-temporary-file'), 'x');
    await mkdir(path.join(root, 'dir/.mutagen-temporary-staging/sub'), { recursive: true });
    await writeFile(path.join(root, 'dir/.mutagen-temporary-staging/sub/f'), 'x');
    await rename(path.join(root, 'dir/.mutagen-temporary-file'), path.join(root, 'dir/renamed-into-place.txt'));
    await appendFile(path.join(root, 'dir/real.txt'), 'marker\n');
    await eventually(() => expect([...h.collect()], h.status()).toEqual(expect.arrayContaining(['dir/real.txt', 'dir/renamed-into-place.txt'])));
    expect([...h.seen].filter((p) => p.includes('.mutagen-temporary-'))).toEqual([]);
  });

  it('does not watch or report inside pruned directories, including ones created later', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['ignored/a.txt', 'src/node_modules/pkg/index.js', 'src/main.ts']);
    const h = await start(root, { pruneDirectory: (p) => p === 'ignored' || path.posix.basename(p) === 'node_modules' });
    await appendFile(path.join(root, 'ignored/a.txt'), 'x');
    await writeFile(path.join(root, 'ignored/new.txt'), 'x');
    await appendFile(path.join(root, 'src/node_modules/pkg/index.js'), 'x');
    await mkdir(path.join(root, 'src/lib/node_modules/dep'), { recursive: true });
    await eventually(() => expect(h.collect(), h.status()).toContain('src/lib'));
    await writeFile(path.join(root, 'src/lib/node_modules/dep/late.js'), 'x');
    await appendFile(path.join(root, 'src/main.ts'), 'marker\n');
    await eventually(() => expect(h.collect(), h.status()).toContain('src/main.ts'));
    expect([...h.seen].filter((p) => p.startsWith('ignored/') || p.includes('node_modules/'))).toEqual([]);
  });

  it('follows directories replaced in place or moved in from outside the root', async () => {
    const root = await temp('mt-watch-');
    const outside = await temp('mt-watch-outside-');
    await tree(root, ['sub/old.txt']);
    await tree(outside, ['incoming/deep/x.txt']);
    const h = await start(root);
    await rm(path.join(root, 'sub'), { recursive: true });
    await mkdir(path.join(root, 'sub'));
    await rename(path.join(outside, 'incoming'), path.join(root, 'incoming'));
    await eventually(async () => {
      await appendFile(path.join(root, 'sub/new.txt'), 'x');
      await appendFile(path.join(root, 'incoming/deep/x.txt'), 'x');
      const seen = h.collect();
      expect(seen, h.status()).toContain('sub/new.txt');
      expect(seen, h.status()).toContain('incoming/deep/x.txt');
    }, { intervalMs: 50 });
  });

  it('reports paths through one native recursive watch where the platform offers it', async () => {
    const root = await temp('mt-watch-');
    await tree(root, ['a/b/file.txt', 'skip/inner.txt']);
    const h = await start(root, { nativeRecursive: true, pruneDirectory: (p) => p === 'skip' });
    await eventually(async () => {
      await appendFile(path.join(root, 'skip/inner.txt'), 'x');
      await appendFile(path.join(root, 'a/b/file.txt'), 'x');
      expect(h.collect(), h.status()).toContain('a/b/file.txt');
    }, { intervalMs: 50 });
    expect([...h.seen].filter((p) => p.startsWith('skip/'))).toEqual([]);
  });

  it('collapses more than MAX_PENDING_PATHS pending paths into overflow', async () => {
    const root = await temp('mt-watch-');
    const h = await start(root);
    h.watcher.markDirty(Array.from({ length: MAX_PENDING_PATHS }, (_, i) => `p${i}`));
    const full = h.watcher.drain();
    expect(full).toMatchObject({ overflow: false });
    expect(full.paths.size).toBe(MAX_PENDING_PATHS);
    h.watcher.markDirty(Array.from({ length: MAX_PENDING_PATHS + 1 }, (_, i) => `p${i}`));
    const overflowed = h.watcher.drain();
    expect(overflowed.overflow).toBe(true);
    expect(overflowed.paths.size).toBe(0);
    expect(h.watcher.drain()).toMatchObject({ overflow: false });
  });

  it('overflows on real events past its pending limit', async () => {
    const root = await temp('mt-watch-');
    const h = await start(root, { maxPendingPaths: 5 });
    // Watchers of one process share chokidar's native watches, so once the control has seen
    // every write, so has the watcher under test, which is drained exactly once.
    const control = await start(root);
    const files = Array.from({ length: 12 }, (_, i) => `f${i}.txt`);
    for (const file of files) await writeFile(path.join(root, file), 'x');
    await eventually(() => expect([...control.collect()]).toEqual(expect.arrayContaining(files)));
    const batch = h.watcher.drain();
    expect(batch.overflow).toBe(true);
    expect(batch.paths.size).toBe(0);
  });
});
