import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveStore } from '../../../src/sync/archive.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { flushAndState, localSpec, sessionState, waitForState, type Workspace, useEngine } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';

/**
 * Flushes of watched sessions: the cycle a flush runs scans what the watchers reported (it does
 * not walk both trees in full), so everything written before the flush request must have been
 * recorded by then, and a flush that finds nothing to do must leave the archive alone.
 */
describe('flush with active watchers', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  async function start(): Promise<string> {
    await writeTree(ws.alpha, { keep: 'anchor', dir: { type: 'dir' }, 'dir/a': 'one' });
    await writeTree(ws.beta, null);
    const id = await manager.create(localSpec(ws.alpha, ws.beta), { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    return id;
  }

  it('carries every change written just before each flush, with no wait in between', async () => {
    const id = await start();
    for (let round = 0; round < 15; round++) {
      // Synchronous writes, then the flush request in the same turn of the event loop: the
      // kernel has queued the watch events, but the daemon has not read them yet.
      const dir = path.join(ws.alpha, `round-${round}`, 'inner');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'file'), `created in round ${round}`);
      writeFileSync(path.join(ws.alpha, 'dir', 'a'), `edited in round ${round}`);
      if (round > 0) rmSync(path.join(ws.alpha, `round-${round - 1}`), { recursive: true });
      const state = await flushAndState(manager, id);
      expect(state.lastError).toBeUndefined();
      expect(await readFile(path.join(ws.beta, `round-${round}`, 'inner', 'file'), 'utf8')).toBe(`created in round ${round}`);
      expect(await readFile(path.join(ws.beta, 'dir', 'a'), 'utf8')).toBe(`edited in round ${round}`);
      expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
    }
  });

  it('a flush that finds nothing to do completes a cycle and does not rewrite the archive', async () => {
    const id = await start();
    await flushAndState(manager, id);
    // Archive writes run behind the cycles (a flush does not wait for them): settled = the
    // archive holds the synchronized tree.
    const archives = new ArchiveStore(path.join(ws.data, 'archives'));
    await eventually(async () => {
      const ancestor = await archives.load(id);
      expect(ancestor?.kind === 'directory' ? [...ancestor.contents.keys()].sort() : ancestor).toEqual(['dir', 'keep']);
    });
    const identity = async (): Promise<[number, number]> => {
      const info = await stat(archives.pathOf(id));
      return [info.ino, info.mtimeMs];
    };
    const before = await identity();
    const cycles = (await sessionState(manager, id)).successfulCycles;
    for (let i = 0; i < 3; i++) await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(30_000));
    const state = await sessionState(manager, id);
    expect(state.successfulCycles).toBeGreaterThanOrEqual(cycles + 3);
    expect(state.conflicts).toEqual([]);
    expect(await identity()).toEqual(before);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
  });

  /** A session whose first cycle stages enough files to be caught in its staging phase. */
  async function createLarge(): Promise<string> {
    for (let d = 0; d < 40; d++) {
      const dir = path.join(ws.alpha, `d${d}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(path.join(dir, `f${f}`), `${d}/${f} `.repeat(200));
    }
    const id = await manager.create(localSpec(ws.alpha, ws.beta), { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(manager, id, (s) => s.status === 'staging-beta');
    return id;
  }

  it('a flush that arrives mid-cycle while neither side changed is answered by that cycle', async () => {
    const id = await createLarge();
    const state = await flushAndState(manager, id);
    expect(state.lastError).toBeUndefined();
    expect(state.successfulCycles).toBe(1);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
  });

  it('a flush that arrives mid-cycle after a change waits for a cycle that carries it', async () => {
    const id = await createLarge();
    writeFileSync(path.join(ws.alpha, 'late'), 'written while the first cycle staged');
    const state = await flushAndState(manager, id);
    expect(state.lastError).toBeUndefined();
    expect(state.successfulCycles).toBeGreaterThanOrEqual(2);
    expect(await readFile(path.join(ws.beta, 'late'), 'utf8')).toBe('written while the first cycle staged');
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
  });

  it('flushes several sessions at once and answers when all of them have cycled', async () => {
    const first = await start();
    await writeTree(ws.at('gamma'), { g: 'gamma file' });
    const second = await manager.create(localSpec(ws.at('gamma'), ws.at('delta')), { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(manager, second, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    await writeFile(path.join(ws.alpha, 'late'), 'late alpha');
    await writeFile(ws.at('gamma', 'late'), 'late gamma');
    const affected = await manager.flush({ specifications: [first, second] }, false, AbortSignal.timeout(30_000));
    expect([...affected].sort()).toEqual([first, second].sort());
    expect(await readFile(path.join(ws.beta, 'late'), 'utf8')).toBe('late alpha');
    expect(await readFile(ws.at('delta', 'late'), 'utf8')).toBe('late gamma');
  });
});
