import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncMode } from '../../../src/model/configuration.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { flushAndState, localSpec, waitForState, type Workspace, useEngine } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';

/** Sessions with the default (portable) watch mode: changes propagate with no flush at all. */
describe('watcher-driven propagation', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  async function start(mode: SyncMode = 'two-way-safe'): Promise<string> {
    await writeTree(ws.alpha, { keep: 'anchor', 'dir': { type: 'dir' }, 'dir/a': 'alpha one' });
    await writeTree(ws.beta, null);
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { mode }), { paused: false }, AbortSignal.timeout(10_000));
    // The start-up cycle runs on its own (no flush), creating beta from alpha.
    await waitForState(manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
    return id;
  }

  it('alpha edits, creations and deletions reach beta without a flush', async () => {
    await start();
    await writeFile(path.join(ws.alpha, 'dir', 'a'), 'alpha one, edited');
    await writeTree(path.join(ws.alpha, 'new'), { 'x': 'nested x', 'y/z': 'deeper', 'y': { type: 'dir' } });
    await eventually(async () => {
      expect(await readFile(path.join(ws.beta, 'dir', 'a'), 'utf8')).toBe('alpha one, edited');
      expect(await readFile(path.join(ws.beta, 'new', 'y', 'z'), 'utf8')).toBe('deeper');
    });
    await rm(path.join(ws.alpha, 'new'), { recursive: true });
    await eventually(async () => expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha))));
    expect(Object.keys((await readTree(ws.beta)) ?? {}).sort()).toEqual(['dir', 'dir/a', 'keep']);
  });

  it('beta edits reach alpha in two-way mode, and the list long-poll reports each cycle', async () => {
    const id = await start();
    const before = await manager.list({ specifications: [id] }, undefined, AbortSignal.timeout(5_000));
    const cycles = before.sessions[0]?.successfulCycles ?? 0;
    const poll = manager.list({ specifications: [id] }, before.stateIndex, AbortSignal.timeout(20_000));
    await writeFile(path.join(ws.beta, 'from-beta'), 'written on beta');
    const next = await poll;
    expect(next.stateIndex).toBeGreaterThan(before.stateIndex);
    const state = await waitForState(manager, id, (s) => s.successfulCycles > cycles && s.status === 'watching');
    expect(state.conflicts).toEqual([]);
    await eventually(async () => expect(await readFile(path.join(ws.alpha, 'from-beta'), 'utf8')).toBe('written on beta'));
  });

  it.each([
    ['two-way-safe', 'propagated'],
    ['two-way-resolved', 'propagated'],
    ['one-way-safe', 'kept on beta'],
    ['one-way-replica', 'removed from beta'],
  ] as const)('%s: a beta-only creation is %s, an alpha edit always reaches beta', async (mode, outcome) => {
    const id = await start(mode);
    // Beta first: the cycle that carries the alpha edit has necessarily seen the beta file.
    await writeFile(path.join(ws.beta, 'beta-only'), 'beta');
    await writeFile(path.join(ws.alpha, 'dir', 'a'), 'alpha two, longer');
    await eventually(async () => expect(await readFile(path.join(ws.beta, 'dir', 'a'), 'utf8')).toBe('alpha two, longer'));
    const expectAlpha = outcome === 'propagated';
    const expectBeta = outcome !== 'removed from beta';
    await eventually(async () => {
      const alpha = (await readTree(ws.alpha)) ?? {};
      const beta = (await readTree(ws.beta)) ?? {};
      expect('beta-only' in alpha).toBe(expectAlpha);
      expect('beta-only' in beta).toBe(expectBeta);
    });
    const state = await waitForState(manager, id, (s) => s.status === 'watching');
    expect(state.conflicts).toEqual([]);
    expect(state.lastError).toBeUndefined();
  });

  it('a change no watch event reports (a write through a hard link outside the root) is found by the periodic rescan', async () => {
    await writeTree(ws.alpha, { 'linked': 'first version' });
    const outside = ws.at('outside-link');
    await link(path.join(ws.alpha, 'linked'), outside);
    // inotify reports a write to the watched directory only through that directory's own name.
    const spec = localSpec(ws.alpha, ws.beta);
    const id = await manager.create({ ...spec, configuration: { ...spec.configuration, watch: { pollingInterval: 1 } } }, { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    expect(await readFile(path.join(ws.beta, 'linked'), 'utf8')).toBe('first version');
    await writeFile(outside, 'second version, written elsewhere');
    await eventually(async () => expect(await readFile(path.join(ws.beta, 'linked'), 'utf8')).toBe('second version, written elsewhere'), { timeoutMs: 10_000 });
    const state = await waitForState(manager, id, (s) => s.status === 'watching');
    expect(state.conflicts).toEqual([]);
  });

  it('accelerated scans catch renames, moves and deep trees created in one go', async () => {
    const id = await start();
    await rename(path.join(ws.alpha, 'dir'), path.join(ws.alpha, 'renamed dir'));
    await mkdir(path.join(ws.alpha, 'deep', 'er', 'est'), { recursive: true });
    await writeFile(path.join(ws.alpha, 'deep', 'er', 'est', 'leaf'), 'deep leaf');
    await writeFile(path.join(ws.alpha, 'deep', 'top'), 'top');
    await eventually(async () => expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha))));
    await rename(path.join(ws.alpha, 'deep', 'er', 'est', 'leaf'), path.join(ws.alpha, 'renamed dir', 'moved leaf'));
    await rm(path.join(ws.alpha, 'deep', 'er'), { recursive: true });
    await eventually(async () => expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha))));
    expect(Object.keys((await readTree(ws.beta)) ?? {}).sort()).toEqual(['deep', 'deep/top', 'keep', 'renamed dir', 'renamed dir/a', 'renamed dir/moved leaf']);
    // A full (flush) scan agrees with what the accelerated scans produced: nothing left to do.
    const settled = await waitForState(manager, id, (s) => s.status === 'watching');
    const flushed = await flushAndState(manager, id);
    expect(flushed.successfulCycles).toBeGreaterThan(settled.successfulCycles);
    expect(flushed.conflicts).toEqual([]);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
  });
});
