import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { Clock } from '../../../src/base/clock.js';
import { RestartBudget } from '../../../src/watch/restart-budget.js';
import { TreeWatcher } from '../../../src/watch/watcher.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { useWatchers } from './harness.js';

const temp = useTempDirectories();
const start = useWatchers();
const HOUR = 3_600_000;

describe('TreeWatcher lifecycle', () => {
  it('close() is idempotent and stops events and signals', async () => {
    const root = await temp('mt-watch-');
    const h = await start(root);
    const control = await start(root);
    const first = h.watcher.close();
    expect(h.watcher.close()).toBe(first);
    await first;
    expect(h.watcher.state).toBe('closed');
    const signalsAtClose = h.signals();
    await writeFile(path.join(root, 'after-close.txt'), 'x');
    await eventually(() => expect(control.collect()).toContain('after-close.txt'));
    await eventually(() => expect(control.signals()).toBeGreaterThan(0));
    // A closed watcher knows nothing: overflow, and no path recorded after close.
    expect(h.watcher.drain()).toEqual({ paths: new Set(), overflow: true });
    expect(h.signals()).toBe(signalsAtClose);
    await h.watcher.close();
  });

  it('reports overflow for a drain before it is established, and signals a rescan once it is', async () => {
    const root = await temp('mt-watch-');
    await mkdir(path.join(root, 'a/b'), { recursive: true });
    let signals = 0;
    const watcher = new TreeWatcher(root, { onSignal: () => { signals++; } });
    try {
      expect(watcher.state).toBe('starting');
      expect(watcher.drain().overflow).toBe(true);
      await watcher.ready;
      expect(watcher.state).toBe('watching');
      await eventually(() => expect(signals).toBeGreaterThan(0));
      expect(watcher.drain().overflow).toBe(true);
      expect(watcher.drain().overflow).toBe(false);
    } finally {
      await watcher.close();
    }
  });

  it('watches a missing root through its parent, then the tree once it is created', async () => {
    const parent = await temp('mt-watch-');
    const root = path.join(parent, 'root');
    const h = await start(root);
    expect(h.watcher.state).toBe('watching-parent');
    expect(h.watcher.error).toBeUndefined();
    await mkdir(root);
    await eventually(() => expect(h.watcher.state).toBe('watching'));
    await eventually(() => {
      h.collect();
      expect(h.overflowed()).toBe(true);
    });
    await mkdir(path.join(root, 'sub'));
    await writeFile(path.join(root, 'sub/f.txt'), 'x');
    await eventually(async () => {
      await appendFile(path.join(root, 'sub/f.txt'), 'x');
      expect(h.collect(), h.status()).toContain('sub/f.txt');
    }, { intervalMs: 50 });
  });

  it('establishes a root created while held only on release, then watches its whole tree', async () => {
    const parent = await temp('mt-watch-');
    const root = path.join(parent, 'root');
    const h = await start(root);
    expect(h.watcher.state).toBe('watching-parent');
    h.watcher.hold();
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'sub/f.txt'), 'x');
    await eventually(() => expect(h.collect()).toContain(''));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.watcher.state).toBe('watching-parent');
    h.watcher.release();
    await eventually(() => expect(h.watcher.state).toBe('watching'));
    await eventually(() => {
      h.collect();
      expect(h.overflowed()).toBe(true);
    });
    await eventually(async () => {
      await appendFile(path.join(root, 'sub/f.txt'), 'x');
      expect(h.collect(), h.status()).toContain('sub/f.txt');
    }, { intervalMs: 50 });
  });

  it('is quiet only while covered with nothing recorded since the last drain, and settles after its root is created', async () => {
    const parent = await temp('mt-watch-');
    const root = path.join(parent, 'root');
    const watcher = new TreeWatcher(root, { onSignal: () => undefined });
    try {
      await watcher.ready;
      await watcher.settle(); // the check of the root that follows each establishment
      expect(watcher.state).toBe('watching-parent');
      watcher.drain();
      expect(watcher.quiet()).toBe(true);
      watcher.hold();
      expect(watcher.quiet()).toBe(false);
      await mkdir(path.join(root, 'sub'), { recursive: true });
      await writeFile(path.join(root, 'sub/f.txt'), 'x');
      watcher.release();
      // The root appeared: its check, the re-establishment and the overflow it reports.
      await watcher.settle();
      expect(watcher.state).toBe('watching');
      expect(watcher.quiet()).toBe(false);
      expect(watcher.drain().overflow).toBe(true);
      expect(watcher.quiet()).toBe(true);
      await writeFile(path.join(root, 'sub/g.txt'), 'y');
      await eventually(() => expect(watcher.quiet()).toBe(false));
      expect(watcher.drain().paths).toContain('sub/g.txt');
      expect(watcher.quiet()).toBe(true);
      watcher.markDirty(['sub']);
      expect(watcher.quiet()).toBe(false);
    } finally {
      await watcher.close();
    }
    expect(watcher.quiet()).toBe(false);
  });

  it('backs off with an error while the root\'s parent is missing, and recovers by itself', async () => {
    const base = await temp('mt-watch-');
    const root = path.join(base, 'missing/root');
    const h = await start(root, { retryDelayMs: 25 });
    expect(h.watcher.state).toBe('backing-off');
    expect(h.watcher.error).toBeInstanceOf(MutagenError);
    expect((h.watcher.error as MutagenError).code).toBe('MUTAGEN_ENDPOINT');
    await eventually(() => expect(h.signals()).toBeGreaterThan(0));
    await mkdir(root, { recursive: true });
    await eventually(() => expect(h.watcher.state).toBe('watching'));
    expect(h.watcher.error).toBeUndefined();
    await eventually(async () => {
      await writeFile(path.join(root, 'f.txt'), 'x');
      expect(h.collect(), h.status()).toContain('f.txt');
    }, { intervalMs: 50 });
  });

  it('retries establishment at once when marked dirty (a transition may have created the root)', async () => {
    const base = await temp('mt-watch-');
    const root = path.join(base, 'missing/root');
    const h = await start(root, { retryDelayMs: HOUR });
    expect(h.watcher.state).toBe('backing-off');
    await mkdir(root, { recursive: true });
    h.watcher.markDirty(['']);
    await eventually(() => expect(h.watcher.state).toBe('watching'));
    expect(h.watcher.error).toBeUndefined();
  });

  it('watches a file root through its parent and switches when it becomes a directory', async () => {
    const parent = await temp('mt-watch-');
    const root = path.join(parent, 'single.txt');
    await writeFile(root, 'one\n');
    await writeFile(path.join(parent, 'sibling.txt'), 'x');
    const h = await start(root);
    expect(h.watcher.state).toBe('watching-parent');
    // The control watches the same parent directory (same native watch): once it has seen the
    // sibling's write, the watcher under test has had it too, and ignored it.
    const control = await start(parent);
    await appendFile(path.join(parent, 'sibling.txt'), 'not the root\n');
    await eventually(() => expect(control.collect()).toContain('sibling.txt'));
    expect(h.watcher.drain()).toEqual({ paths: new Set(), overflow: false });
    await appendFile(root, 'two\n');
    await eventually(() => expect([...h.collect()], h.status()).toEqual(['']));
    await rm(root);
    await mkdir(root);
    await eventually(() => expect(h.watcher.state).toBe('watching'));
    await eventually(async () => {
      await writeFile(path.join(root, 'inside.txt'), 'x');
      expect(h.collect(), h.status()).toContain('inside.txt');
    }, { intervalMs: 50 });
  });

  it('re-establishes on a root moved away and recreated, and forgets the old tree', async () => {
    const parent = await temp('mt-watch-');
    const root = path.join(parent, 'root');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    const h = await start(root);
    await rename(root, path.join(parent, 'root.old'));
    await mkdir(root);
    await eventually(() => {
      h.collect();
      expect(h.overflowed()).toBe(true);
      expect(h.watcher.state).toBe('watching');
    });
    h.seen.clear();
    await writeFile(path.join(parent, 'root.old/sub/old-only.txt'), 'x');
    await eventually(async () => {
      await writeFile(path.join(root, 'marker.txt'), 'x');
      expect(h.collect(), h.status()).toContain('marker.txt');
    }, { intervalMs: 50 });
    expect([...h.seen].filter((p) => p.includes('old-only'))).toEqual([]);
  });
});

/**
 * A real watch error: a directory whose absolute path is longer than PATH_MAX cannot be listed
 * or watched (ENAMETOOLONG), and chokidar reports that as an error. Node's fs cannot make or
 * remove such a tree, so coreutils (which work relative to each directory) do.
 */
function makeOverlongTree(root: string): () => void {
  const component = 'd'.repeat(200);
  const relative = Array.from({ length: 22 }, () => component).join('/');
  const made = spawnSync('mkdir', ['-p', relative], { cwd: root });
  if (made.status !== 0) throw new Error(`mkdir -p failed: ${made.stderr.toString()}`);
  return () => {
    const removed = spawnSync('rm', ['-rf', component], { cwd: root });
    if (removed.status !== 0) throw new Error(`rm -rf failed: ${removed.stderr.toString()}`);
  };
}

describe('TreeWatcher failures', () => {
  it('on a watch error disables acceleration, signals and restarts until the budget is spent', async () => {
    const root = await temp('mt-watch-');
    const removeOverlong = makeOverlongTree(root);
    try {
      const h = await start(root, { retryDelayMs: 10, restartBudget: { count: 2, windowMs: HOUR } });
      await eventually(() => expect(h.watcher.state).toBe('failed'));
      expect(h.watcher.error).toBeInstanceOf(MutagenError);
      expect(h.watcher.error?.message).toMatch(/^unable to watch .*ENAMETOOLONG/);
      expect(h.watcher.drain().overflow).toBe(true);
      await eventually(() => expect(h.signals()).toBeGreaterThan(0));
      h.watcher.markDirty(['x']);
      expect(h.watcher.state).toBe('failed');
    } finally {
      removeOverlong();
    }
  });

  it('re-establishes itself after a watch error once the cause is gone', async () => {
    const root = await temp('mt-watch-');
    const removeOverlong = makeOverlongTree(root);
    let removed = false;
    try {
      const h = await start(root, { retryDelayMs: 50, restartBudget: { count: 1000, windowMs: HOUR } });
      await eventually(() => expect(h.watcher.error).toBeDefined());
      expect(['backing-off', 'starting']).toContain(h.watcher.state);
      removeOverlong();
      removed = true;
      await eventually(() => expect(h.watcher.state).toBe('watching'));
      expect(h.watcher.error).toBeUndefined();
      await eventually(async () => {
        await writeFile(path.join(root, 'after.txt'), 'x');
        expect(h.collect(), h.status()).toContain('after.txt');
      }, { intervalMs: 50 });
      expect(h.overflowed()).toBe(true);
    } finally {
      if (!removed) removeOverlong();
    }
  });
});

describe('RestartBudget', () => {
  it('allows a number of restarts per sliding window', () => {
    let now = 0;
    const clock: Clock = { now: () => now };
    const budget = new RestartBudget({ count: 3, windowMs: 1000 }, clock);
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false]);
    expect(budget.remaining()).toBe(0);
    now = 999;
    expect(budget.take()).toBe(false);
    now = 1000;
    expect(budget.remaining()).toBe(3);
    expect(budget.take()).toBe(true);
    expect(budget.remaining()).toBe(2);
  });
});
