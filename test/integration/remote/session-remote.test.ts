import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushAndState, waitForState } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';
import { remoteSpec, useRemote, type RemoteSetup } from './remote-fixture.js';

describe('sessions with a remote beta', () => {
  let r: RemoteSetup;
  useRemote((setup) => { r = setup; });

  it('synchronizes both ways, including deletions, into a home-relative root', async () => {
    const tree = { a: 'alpha file', dir: { type: 'dir' as const }, 'dir/b': 'nested', 'dir/x': { type: 'file' as const, content: '#!/bin/sh\n', executable: true } };
    await writeTree(r.ws.alpha, tree);
    const beta = path.join(r.home, 'project');
    const id = await r.manager.create(remoteSpec(r.ws.alpha, 'project', { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    let state = await flushAndState(r.manager, id);
    expect(state.lastError).toBeUndefined();
    expect(canonical(await readTree(beta))).toEqual(canonical(tree));
    expect(r.loop.requests.map((q) => q.side)).toEqual(['beta']);
    await writeFile(path.join(beta, 'from-beta'), 'created remotely');
    await rm(path.join(r.ws.alpha, 'dir', 'b'));
    state = await flushAndState(r.manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await readFile(path.join(r.ws.alpha, 'from-beta'), 'utf8')).toBe('created remotely');
    await expect(stat(path.join(beta, 'dir', 'b'))).rejects.toThrow(/ENOENT/);
    expect(canonical(await readTree(beta))).toEqual(canonical(await readTree(r.ws.alpha)));
    // Counts are those of the cycle's scans, before its transitions: one more cycle shows them.
    state = await flushAndState(r.manager, id);
    expect([state.beta.files, state.beta.directories, state.alpha.files]).toEqual([3, 2, 3]);
  });

  it('reports conflicts and leaves both versions alone until one side yields', async () => {
    await writeTree(r.ws.alpha, { keep: 'anchor', dir: { type: 'dir' }, 'dir/f': 'original' });
    const beta = path.join(r.home, 'conflicts');
    const id = await r.manager.create(remoteSpec(r.ws.alpha, beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(r.manager, id);
    await writeFile(path.join(r.ws.alpha, 'dir', 'f'), 'alpha version');
    await writeFile(path.join(beta, 'dir', 'f'), 'beta version, longer');
    const state = await flushAndState(r.manager, id);
    expect(state.conflicts.map((c) => c.root)).toEqual(['dir/f']);
    expect(await readFile(path.join(r.ws.alpha, 'dir', 'f'), 'utf8')).toBe('alpha version');
    expect(await readFile(path.join(beta, 'dir', 'f'), 'utf8')).toBe('beta version, longer');
    await rm(path.join(r.ws.alpha, 'dir', 'f'));
    const resolved = await flushAndState(r.manager, id);
    expect(resolved.conflicts).toEqual([]);
    expect(await readFile(path.join(r.ws.alpha, 'dir', 'f'), 'utf8')).toBe('beta version, longer');
  });

  it('follows changes through the remote watcher (poll over the wire)', async () => {
    await writeTree(r.ws.alpha, { seed: 'seed' });
    const beta = path.join(r.home, 'watched');
    const id = await r.manager.create(remoteSpec(r.ws.alpha, beta), { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(r.manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    await writeFile(path.join(beta, 'remote-edit'), 'seen by the agent watcher');
    await eventually(async () => {
      expect(await readFile(path.join(r.ws.alpha, 'remote-edit'), 'utf8')).toBe('seen by the agent watcher');
    }, { timeoutMs: 30_000 });
    await writeFile(path.join(r.ws.alpha, 'local-edit'), 'seen by the local watcher');
    await eventually(async () => {
      expect(await readFile(path.join(beta, 'local-edit'), 'utf8')).toBe('seen by the local watcher');
    }, { timeoutMs: 30_000 });
  });
});
