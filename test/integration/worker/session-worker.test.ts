import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushAndState, waitForState } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';
import { localSpec } from '../../helpers/engine.js';
import { useWorkerEngine, type WorkerSetup } from './worker-fixture.js';

describe('local sessions with beta in a worker thread', () => {
  let w: WorkerSetup;
  useWorkerEngine((setup) => { w = setup; });

  it('synchronizes both ways, including deletions and executability; beta alone runs in the worker', async () => {
    const tree = { a: 'alpha file', dir: { type: 'dir' as const }, 'dir/b': 'nested', 'dir/x': { type: 'file' as const, content: '#!/bin/sh\n', executable: true } };
    await writeTree(w.ws.alpha, tree);
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(20_000));
    expect(w.workers).toHaveLength(1);
    let state = await flushAndState(w.manager, id);
    expect(state.lastError).toBeUndefined();
    expect(canonical(await readTree(w.ws.beta))).toEqual(canonical(tree));
    await writeFile(path.join(w.ws.beta, 'from-beta'), 'created in the worker side');
    await rm(path.join(w.ws.alpha, 'dir', 'b'));
    state = await flushAndState(w.manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await readFile(path.join(w.ws.alpha, 'from-beta'), 'utf8')).toBe('created in the worker side');
    await expect(stat(path.join(w.ws.beta, 'dir', 'b'))).rejects.toThrow(/ENOENT/);
    expect(canonical(await readTree(w.ws.beta))).toEqual(canonical(await readTree(w.ws.alpha)));
    state = await flushAndState(w.manager, id);
    expect([state.beta.files, state.beta.directories, state.alpha.files, state.beta.connected]).toEqual([3, 2, 3, true]);
  });

  it('keeps staging and the scan cache where in-process local endpoints keep them', async () => {
    await writeTree(w.ws.alpha, { f: 'content' });
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(20_000));
    await flushAndState(w.manager, id);
    await w.manager.pause({ specifications: [id] }, AbortSignal.timeout(20_000));
    // The worker saved beta's scan cache on shutdown, under the daemon's data directory.
    expect((await stat(path.join(w.ws.data, 'caches', `${id}_beta`))).isFile()).toBe(true);
    expect((await stat(path.join(w.ws.data, 'caches', `${id}_alpha`))).isFile()).toBe(true);
    expect(w.workers.every((worker) => worker.threadId === -1)).toBe(true);
    await w.manager.resume({ specifications: [id] }, {}, AbortSignal.timeout(20_000));
    expect(w.workers).toHaveLength(2);
    await writeFile(path.join(w.ws.alpha, 'g'), 'after resume');
    const state = await flushAndState(w.manager, id);
    expect([state.lastError, await readFile(path.join(w.ws.beta, 'g'), 'utf8')]).toEqual([undefined, 'after resume']);
    await w.manager.terminate({ specifications: [id] }, AbortSignal.timeout(20_000));
    await expect(stat(path.join(w.ws.data, 'caches', `${id}_beta`))).rejects.toThrow(/ENOENT/);
  });

  it('reports conflicts and leaves both versions alone until one side yields', async () => {
    await writeTree(w.ws.alpha, { keep: 'anchor', dir: { type: 'dir' }, 'dir/f': 'original' });
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(20_000));
    await flushAndState(w.manager, id);
    await writeFile(path.join(w.ws.alpha, 'dir', 'f'), 'alpha version');
    await writeFile(path.join(w.ws.beta, 'dir', 'f'), 'beta version, longer');
    const state = await flushAndState(w.manager, id);
    expect(state.conflicts.map((c) => c.root)).toEqual(['dir/f']);
    expect(await readFile(path.join(w.ws.alpha, 'dir', 'f'), 'utf8')).toBe('alpha version');
    expect(await readFile(path.join(w.ws.beta, 'dir', 'f'), 'utf8')).toBe('beta version, longer');
    await rm(path.join(w.ws.alpha, 'dir', 'f'));
    const resolved = await flushAndState(w.manager, id);
    expect(resolved.conflicts).toEqual([]);
    expect(await readFile(path.join(w.ws.alpha, 'dir', 'f'), 'utf8')).toBe('beta version, longer');
  });

  it('one-way-replica: alpha stays in-process and beta is made an exact copy', async () => {
    await writeTree(w.ws.alpha, { keep: 'from alpha' });
    await writeTree(w.ws.beta, { extra: 'beta only', keep: 'beta version' });
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta, { watchMode: 'no-watch', mode: 'one-way-replica' }), { paused: false }, AbortSignal.timeout(20_000));
    const state = await flushAndState(w.manager, id);
    expect(state.lastError).toBeUndefined();
    expect(canonical(await readTree(w.ws.beta))).toEqual(canonical({ keep: 'from alpha' }));
    expect(canonical(await readTree(w.ws.alpha))).toEqual(canonical({ keep: 'from alpha' }));
  });

  it('follows changes through the watcher running in the worker', async () => {
    await writeTree(w.ws.alpha, { seed: 'seed' });
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta), { paused: false }, AbortSignal.timeout(20_000));
    await waitForState(w.manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    await writeFile(path.join(w.ws.beta, 'beta-edit'), 'seen by the worker watcher');
    await eventually(async () => {
      expect(await readFile(path.join(w.ws.alpha, 'beta-edit'), 'utf8')).toBe('seen by the worker watcher');
    }, { timeoutMs: 30_000 });
    await writeFile(path.join(w.ws.alpha, 'alpha-edit'), 'seen by the local watcher');
    await eventually(async () => {
      expect(await readFile(path.join(w.ws.beta, 'alpha-edit'), 'utf8')).toBe('seen by the local watcher');
    }, { timeoutMs: 30_000 });
  });
});
