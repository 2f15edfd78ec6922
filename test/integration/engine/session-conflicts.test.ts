import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncMode } from '../../../src/model/configuration.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { flushAndState, localSpec, waitForState, type Workspace, useEngine } from '../../helpers/engine.js';
import { canonical, readTree, writeTree, type TreeInput } from '../../helpers/tree.js';

/** Conflicts with flush-driven cycles only (no-watch), so every step is one known cycle. */
describe('conflicts', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  async function synced(mode: SyncMode, tree: TreeInput): Promise<string> {
    await writeTree(ws.alpha, tree);
    await writeTree(ws.beta, null);
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { mode, watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    const state = await flushAndState(manager, id);
    expect(state.conflicts).toEqual([]);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(tree));
    return id;
  }

  it('two-way-safe: both modified is a conflict at the deepest path; nothing changes until one side yields', async () => {
    const id = await synced('two-way-safe', { keep: 'anchor', dir: { type: 'dir' }, 'dir/f': 'original', 'dir/other': 'o' });
    await writeFile(path.join(ws.alpha, 'dir', 'f'), 'alpha version');
    await writeFile(path.join(ws.beta, 'dir', 'f'), 'beta version, longer');
    await writeFile(path.join(ws.alpha, 'dir', 'other'), 'alpha edits a sibling');
    const state = await flushAndState(manager, id);
    expect(state.conflicts.map((c) => c.root)).toEqual(['dir/f']);
    const [conflict] = state.conflicts;
    expect(conflict?.alphaChanges.map((c) => [c.path, c.old?.kind, c.new?.kind])).toEqual([['dir/f', 'file', 'file']]);
    expect(conflict?.betaChanges.map((c) => [c.path, c.old?.kind, c.new?.kind])).toEqual([['dir/f', 'file', 'file']]);
    // The conflicting file is left alone on both sides; the sibling still propagates.
    expect(await readFile(path.join(ws.alpha, 'dir', 'f'), 'utf8')).toBe('alpha version');
    expect(await readFile(path.join(ws.beta, 'dir', 'f'), 'utf8')).toBe('beta version, longer');
    expect(await readFile(path.join(ws.beta, 'dir', 'other'), 'utf8')).toBe('alpha edits a sibling');
    // Conflicts are recomputed each cycle: still there after another flush.
    expect((await flushAndState(manager, id)).conflicts).toHaveLength(1);
    // Standard resolution: delete the losing side; the winner propagates and the conflict clears.
    await rm(path.join(ws.beta, 'dir', 'f'));
    const resolved = await flushAndState(manager, id);
    expect(resolved.conflicts).toEqual([]);
    expect(await readFile(path.join(ws.beta, 'dir', 'f'), 'utf8')).toBe('alpha version');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
  });

  it('two-way-resolved: alpha wins when both modified, but a deletion never beats a modification', async () => {
    const id = await synced('two-way-resolved', { keep: 'anchor', both: 'original', gone: 'original too' });
    await writeFile(path.join(ws.alpha, 'both'), 'alpha wins');
    await writeFile(path.join(ws.beta, 'both'), 'beta loses, longer');
    await rm(path.join(ws.alpha, 'gone'));
    await writeFile(path.join(ws.beta, 'gone'), 'beta modified the file alpha deleted');
    const state = await flushAndState(manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await readFile(path.join(ws.beta, 'both'), 'utf8')).toBe('alpha wins');
    expect(await readFile(path.join(ws.alpha, 'gone'), 'utf8')).toBe('beta modified the file alpha deleted');
  });

  it('one-way-safe: a beta edit of alpha content is a conflict and beta keeps its version', async () => {
    const id = await synced('one-way-safe', { keep: 'anchor', f: 'from alpha' });
    await writeFile(path.join(ws.beta, 'f'), 'edited on beta');
    const state = await flushAndState(manager, id);
    expect(state.conflicts.map((c) => c.root)).toEqual(['f']);
    expect(await readFile(path.join(ws.beta, 'f'), 'utf8')).toBe('edited on beta');
    expect(await readFile(path.join(ws.alpha, 'f'), 'utf8')).toBe('from alpha');
  });

  it('lists at most 10 conflicts and counts the rest', async () => {
    const tree: Record<string, string> = { keep: 'anchor' };
    for (let i = 0; i < 13; i++) tree[`c${String(i).padStart(2, '0')}`] = 'base';
    const id = await synced('two-way-safe', tree);
    for (let i = 0; i < 13; i++) {
      const name = `c${String(i).padStart(2, '0')}`;
      await writeFile(path.join(ws.alpha, name), `alpha ${i}`);
      await writeFile(path.join(ws.beta, name), `beta side ${i}`);
    }
    const state = await flushAndState(manager, id);
    expect(state.conflicts.map((c) => c.root)).toEqual(['c00', 'c01', 'c02', 'c03', 'c04', 'c05', 'c06', 'c07', 'c08', 'c09']);
    expect(state.excludedConflicts).toBe(3);
  });

  it('reset forgets the ancestor: equal content merges silently, different content conflicts', async () => {
    const id = await synced('two-way-safe', { keep: 'anchor', same: 'same', differ: 'base' });
    await manager.pause({ specifications: [id] }, AbortSignal.timeout(10_000));
    await writeFile(path.join(ws.beta, 'differ'), 'beta differs');
    await writeFile(path.join(ws.alpha, 'only-alpha'), 'new on alpha');
    await manager.resume({ specifications: [id] }, {}, AbortSignal.timeout(10_000));
    await manager.reset({ specifications: [id] }, {}, AbortSignal.timeout(10_000));
    const state = await flushAndState(manager, id);
    expect(state.conflicts.map((c) => c.root)).toEqual(['differ']);
    expect(await readFile(path.join(ws.beta, 'only-alpha'), 'utf8')).toBe('new on alpha');
    expect(await readFile(path.join(ws.alpha, 'differ'), 'utf8')).toBe('base');
    expect(await readFile(path.join(ws.beta, 'differ'), 'utf8')).toBe('beta differs');
  });
});

describe('transition problems', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  it('a file over the staging size limit is a transition problem, retried at once without a flush, and never half-written', async () => {
    await writeTree(ws.alpha, { keep: 'anchor', small: 'tiny' });
    const spec = localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch', maxStagingFileSize: 64 });
    const id = await manager.create(spec, { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    await writeFile(path.join(ws.alpha, 'large'), 'x'.repeat(1000));
    const before = (await flushAndState(manager, id)).successfulCycles;
    // The failed cycle sets the missing-staged-files flag: with no-watch, only that flag can start another cycle.
    const state = await waitForState(manager, id, (s) => s.successfulCycles >= before + 1 && s.status === 'watching');
    expect(state.beta.transitionProblems.map((p) => p.path)).toEqual(['large']);
    expect(state.beta.transitionProblems[0]?.error).toMatch(/^unable to create file: /);
    expect(state.conflicts).toEqual([]);
    expect(await readTree(ws.beta)).toEqual(await readTree(ws.alpha).then((t) => {
      const { large: _large, ...rest } = t ?? {};
      return rest;
    }));
    // Fixing the cause (here: shrinking the file) lets the next cycle succeed.
    await writeFile(path.join(ws.alpha, 'large'), 'now small');
    const fixed = await flushAndState(manager, id);
    expect(fixed.beta.transitionProblems).toEqual([]);
    expect(await readFile(path.join(ws.beta, 'large'), 'utf8')).toBe('now small');
  });
});
