import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MutagenError } from '../../../src/base/errors.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { createWorkspace, flushAndState, localSpec, openManager, sessionState, waitForState, type Workspace } from '../../helpers/engine.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';

/** Daemon restarts in process: close() one manager, open another on the same data directory. */
describe('session lifecycle across restarts', () => {
  let ws: Workspace;
  let manager: SyncManager | undefined;

  beforeEach(async () => {
    ws = await createWorkspace();
    ({ manager } = await openManager(ws.data));
  });

  afterEach(async () => {
    await manager?.close();
    await ws.dispose();
  });

  async function restart(): Promise<SyncManager> {
    await manager?.close();
    manager = undefined;
    const opened = await openManager(ws.data);
    expect(opened.failures).toEqual([]);
    manager = opened.manager;
    return opened.manager;
  }

  it('edits made while the daemon was down propagate after restart, with no spurious conflicts', async () => {
    const first = manager as SyncManager;
    const initial = { keep: 'anchor', edited: 'v1', 'alpha-deletes': 'x', 'beta-deletes': 'y', dir: { type: 'dir' as const }, 'dir/n': 'nested' };
    await writeTree(ws.alpha, initial);
    const id = await first.create(localSpec(ws.alpha, ws.beta, { name: 'restarted' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(first, id);
    // A plain restart changes nothing and reports nothing.
    const second = await restart();
    await waitForState(second, id, (s) => s.successfulCycles >= 1);
    expect((await flushAndState(second, id)).conflicts).toEqual([]);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(initial));
    // While down: edits on both sides, including deletions that only a persisted ancestor can
    // tell apart from creations on the other side.
    await second.close();
    manager = undefined;
    await writeFile(path.join(ws.alpha, 'edited'), 'v2, edited while down');
    await rm(path.join(ws.alpha, 'alpha-deletes'));
    await rm(path.join(ws.beta, 'beta-deletes'));
    await writeFile(path.join(ws.beta, 'dir', 'created-on-beta'), 'new');
    const third = await restart();
    const { sessions } = await third.list({}, undefined, AbortSignal.timeout(5_000));
    expect(sessions.map((s) => [s.session.id, s.session.name, s.session.paused])).toEqual([[id, 'restarted', false]]);
    // The start-up cycle runs by itself; a flush then forces a full scan on top.
    await waitForState(third, id, (s) => s.successfulCycles >= 1);
    const state = await flushAndState(third, id);
    expect(state.conflicts).toEqual([]);
    expect(state.lastError).toBeUndefined();
    const expected = { keep: 'anchor', edited: 'v2, edited while down', dir: { type: 'dir' as const }, 'dir/n': 'nested', 'dir/created-on-beta': 'new' };
    expect(canonical(await readTree(ws.alpha))).toEqual(canonical(expected));
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(expected));
  });

  it('a paused session stays paused across a restart and refuses flushes until resumed', async () => {
    const first = manager as SyncManager;
    await writeTree(ws.alpha, { keep: 'anchor' });
    const id = await first.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(first, id);
    await first.pause({ specifications: [id] }, AbortSignal.timeout(10_000));
    const second = await restart();
    const state = await sessionState(second, id);
    expect(state.session.paused).toBe(true);
    expect(state.status).toBe('disconnected');
    await writeFile(path.join(ws.alpha, 'while-paused'), 'waits for resume');
    const error = await second.flush({ specifications: [id] }, false, AbortSignal.timeout(5_000)).then(() => undefined, (e: unknown) => e);
    expect((error as MutagenError).code).toBe('MUTAGEN_SESSION_PAUSED');
    expect(await readdir(ws.beta)).toEqual(['keep']);
    await second.resume({ specifications: [id] }, {}, AbortSignal.timeout(10_000));
    await flushAndState(second, id);
    expect(await readFile(path.join(ws.beta, 'while-paused'), 'utf8')).toBe('waits for resume');
    expect((await sessionState(second, id)).session.paused).toBe(false);
  });

  it('pause, resume and reset in quick succession never hang', async () => {
    const current = manager as SyncManager;
    await writeTree(ws.alpha, { keep: 'anchor', f: 'content' });
    const id = await current.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    const selection = { specifications: [id] };
    for (let i = 0; i < 5; i++) {
      await current.resume(selection, {}, AbortSignal.timeout(10_000));
      await current.pause(selection, AbortSignal.timeout(10_000));
      await current.resume(selection, {}, AbortSignal.timeout(10_000));
      await current.reset(selection, {}, AbortSignal.timeout(10_000));
    }
    const state = await flushAndState(current, id);
    expect(state.status).toBe('watching');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
  });

  it('terminate removes the record, the archive and the caches, and leaves both roots alone', async () => {
    const current = manager as SyncManager;
    await writeTree(ws.alpha, { keep: 'anchor' });
    const id = await current.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(current, id);
    await current.pause({ specifications: [id] }, AbortSignal.timeout(10_000));
    await current.terminate({ specifications: [id] }, AbortSignal.timeout(10_000));
    for (const sub of ['sessions', 'archives', 'caches']) {
      expect((await readdir(path.join(ws.data, sub))).filter((n) => n.includes(id)), sub).toEqual([]);
    }
    expect(await readdir(ws.beta)).toEqual(['keep']);
    const reopened = await restart();
    expect((await reopened.list({}, undefined, AbortSignal.timeout(5_000))).sessions).toEqual([]);
  });

  it('update keeps the ancestor, applies new settings at once, persists them, and rejects invalid ones', async () => {
    const current = manager as SyncManager;
    await writeTree(ws.alpha, { keep: 'anchor', 'old.log': 'synced before the update' });
    const spec = localSpec(ws.alpha, ws.beta, { name: 'updated', watchMode: 'no-watch' });
    const id = await current.create(spec, { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(current, id);
    const withIgnores = localSpec(ws.alpha, ws.beta, { name: 'updated', watchMode: 'no-watch', ignores: ['*.tmp'] });
    const invalid = localSpec(ws.alpha, ws.beta, { name: 'updated', watchMode: 'no-watch', ignores: ['[broken'] });
    const error = await current.update(id, invalid, AbortSignal.timeout(10_000)).then(() => undefined, (e: unknown) => e);
    expect((error as MutagenError).code).toBe('MUTAGEN_INVALID_IGNORE');
    expect((await sessionState(current, id)).session.configuration.ignore.paths).toBeUndefined();
    await current.update(id, withIgnores, AbortSignal.timeout(10_000));
    await waitForState(current, id, (s) => s.status === 'watching');
    await writeFile(path.join(ws.alpha, 'scratch.tmp'), 'ignored now');
    await writeFile(path.join(ws.alpha, 'kept.txt'), 'still synchronized');
    const state = await flushAndState(current, id);
    expect(state.conflicts).toEqual([]);
    expect((await readdir(ws.beta)).sort()).toEqual(['keep', 'kept.txt', 'old.log']);
    const reopened = await restart();
    expect((await sessionState(reopened, id)).session.configuration.ignore.paths).toEqual(['*.tmp']);
    await waitForState(reopened, id, (s) => s.status === 'watching');
    await flushAndState(reopened, id);
    expect((await readdir(ws.beta)).sort()).toEqual(['keep', 'kept.txt', 'old.log']);
  });

  it('a long poll returns, instead of hanging, once the manager is closed', async () => {
    const current = manager as SyncManager;
    const { stateIndex } = await current.list({}, undefined, AbortSignal.timeout(5_000));
    const pending = current.list({}, stateIndex, AbortSignal.timeout(10_000));
    await current.close();
    await expect(pending).resolves.toMatchObject({ sessions: [] });
    // A poll that starts after the close does not wait either.
    await expect(current.list({}, stateIndex, AbortSignal.timeout(10_000))).resolves.toMatchObject({ sessions: [] });
  });
});
