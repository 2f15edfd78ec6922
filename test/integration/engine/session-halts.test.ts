import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { SyncMode } from '../../../src/model/configuration.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { createWorkspace, flushAndState, localSpec, openManager, sessionState, waitForState, type Workspace, useEngine } from '../../helpers/engine.js';
import { canonical, readTree, writeTree, type TreeInput } from '../../helpers/tree.js';

const TREE: TreeInput = { a: 'first file', b: 'second file', dir: { type: 'dir' }, 'dir/c': 'nested' };

/** Root safety halts (sync-semantics §5.9): the session stops, nothing is transferred, a person decides. */
describe('safety halts', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  async function synced(mode: SyncMode = 'two-way-safe'): Promise<string> {
    await writeTree(ws.alpha, TREE);
    await writeTree(ws.beta, null);
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { mode, watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
    return id;
  }

  /** Flushes, expecting the flush to be refused because the cycle halted. */
  async function flushIntoHalt(id: string, status: string): Promise<void> {
    const error = await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(20_000)).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MutagenError);
    expect((error as MutagenError).code).toBe('MUTAGEN_SESSION_UNAVAILABLE');
    expect((error as MutagenError).message).toBe(`session halted: ${status}`);
    // The state already shows the halt when the refusal arrives.
    expect((await sessionState(manager, id)).status).toBe(status);
  }

  async function expectFlushRefused(id: string): Promise<void> {
    const error = await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(5_000)).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MutagenError);
    expect((error as MutagenError).code).toBe('MUTAGEN_SESSION_UNAVAILABLE');
  }

  for (const mode of ['two-way-safe', 'one-way-replica'] as const) {
    it(`${mode}: emptying alpha halts with halted-on-root-emptied and beta is untouched`, async () => {
      const id = await synced(mode);
      for (const name of await readdir(ws.alpha)) await rm(path.join(ws.alpha, name), { recursive: true });
      await flushIntoHalt(id, 'halted-on-root-emptied');
      expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
      await expectFlushRefused(id);
      // Resuming re-runs the checks (no-watch: on the next flush): still halted, still nothing deleted.
      await manager.resume({ specifications: [id] }, {}, AbortSignal.timeout(10_000));
      await flushIntoHalt(id, 'halted-on-root-emptied');
      expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
      // Reset empties the ancestor so the check cannot fire: two-way merges beta's content back
      // into alpha; a replica mirrors the (empty) alpha, which is what the person asked for.
      await manager.reset({ specifications: [id] }, {}, AbortSignal.timeout(10_000));
      const state = await flushAndState(manager, id);
      expect(state.status).toBe('watching');
      const expected = mode === 'two-way-safe' ? canonical(TREE) : {};
      expect(canonical(await readTree(ws.beta))).toEqual(expected);
      expect(canonical(await readTree(ws.alpha))).toEqual(expected);
    });
  }

  it('emptying beta halts too (one-way-safe would otherwise restore it silently)', async () => {
    const id = await synced('one-way-safe');
    for (const name of await readdir(ws.beta)) await rm(path.join(ws.beta, name), { recursive: true });
    await flushIntoHalt(id, 'halted-on-root-emptied');
    expect(await readdir(ws.beta)).toEqual([]);
    expect(canonical(await readTree(ws.alpha))).toEqual(canonical(TREE));
  });

  it('a root with a single ancestor entry does not halt when emptied: the deletion propagates', async () => {
    await writeTree(ws.alpha, { only: 'single entry' });
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    await rm(path.join(ws.alpha, 'only'));
    const state = await flushAndState(manager, id);
    expect(state.status).toBe('watching');
    expect(await readdir(ws.beta)).toEqual([]);
  });

  it('deleting the alpha root halts with halted-on-root-deletion; beta keeps everything', async () => {
    const id = await synced();
    await rm(ws.alpha, { recursive: true });
    await flushIntoHalt(id, 'halted-on-root-deletion');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
    expect(await readTree(ws.alpha)).toBeNull();
    // Terminate works from a halted state and leaves both sides as they are.
    await manager.terminate({ specifications: [id] }, AbortSignal.timeout(10_000));
    const { sessions } = await manager.list({}, undefined, AbortSignal.timeout(5_000));
    expect(sessions).toEqual([]);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
  });

  it('replacing the alpha root directory by a file halts with halted-on-root-type-change', async () => {
    const id = await synced();
    await rm(ws.alpha, { recursive: true });
    await writeFile(ws.alpha, 'now a file');
    await flushIntoHalt(id, 'halted-on-root-type-change');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
    const state = await sessionState(manager, id);
    expect(state.alpha.connected).toBe(false);
    expect(state.beta.connected).toBe(false);
  });

  it('one-way-safe: a deleted beta root is re-created from alpha, not a halt', async () => {
    const id = await synced('one-way-safe');
    await rm(ws.beta, { recursive: true });
    const state = await flushAndState(manager, id);
    expect(state.status).toBe('watching');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
  });
});

describe('safety halts across restarts', () => {
  let ws: Workspace;

  beforeEach(async () => {
    ws = await createWorkspace();
  });

  afterEach(async () => {
    await ws.dispose();
  });

  it('a halted session halts again after a daemon restart: the halt is not forgotten, beta keeps everything', async () => {
    const first = (await openManager(ws.data)).manager;
    await writeTree(ws.alpha, TREE);
    const id = await first.create(localSpec(ws.alpha, ws.beta), { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(first, id, (s) => s.successfulCycles >= 1);
    for (const name of await readdir(ws.alpha)) await rm(path.join(ws.alpha, name), { recursive: true });
    await waitForState(first, id, (s) => s.status === 'halted-on-root-emptied');
    await first.close();
    const { manager: second, failures } = await openManager(ws.data);
    try {
      expect(failures).toEqual([]);
      // The start-up cycle runs the checks again (watching endpoints: no flush needed).
      await waitForState(second, id, (s) => s.status === 'halted-on-root-emptied');
      expect(canonical(await readTree(ws.beta))).toEqual(canonical(TREE));
    } finally {
      await second.close();
    }
  });
});
