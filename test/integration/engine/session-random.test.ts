import { chmod, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncMode } from '../../../src/model/configuration.js';
import type { SyncSessionState } from '../../../src/model/session.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { describeState, flushAndState, localSpec, type Workspace, useEngine } from '../../helpers/engine.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';
import { prng as random } from '../../helpers/random.js';


const NAMES = ['a', 'b', 'c', 'd e', 'ü'];
const DIRECTORIES = ['x', 'y', 'x/z'];

/** Random edits on one root: every write has a unique length, so no change can hide in one timestamp tick. */
class Editor {
  private counter = 0;
  constructor(private readonly next: () => number, private readonly tag: string) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  async edit(root: string, operations: number): Promise<void> {
    for (let i = 0; i < operations; i++) {
      const directory = this.pick(['', ...DIRECTORIES]);
      const target = path.join(root, directory, this.pick(NAMES));
      const action = this.pick(['write', 'write', 'write', 'delete', 'mkdir', 'rmdir', 'chmod', 'rename'] as const);
      this.counter += 1;
      try {
        await this.apply(root, action, directory, target);
      } catch {
        // The target did not fit (missing parent, not a file, ...): that edit is skipped.
      }
    }
  }

  private async apply(root: string, action: string, directory: string, target: string): Promise<void> {
    switch (action) {
      case 'write':
        await writeFile(target, `${this.tag}${this.counter}:${'.'.repeat(this.counter)}`);
        return;
      case 'delete':
        if ((await stat(target)).isFile()) await rm(target);
        return;
      case 'mkdir':
        await mkdir(path.join(root, this.pick(DIRECTORIES)), { recursive: true });
        return;
      case 'rmdir':
        await rm(path.join(root, this.pick(DIRECTORIES)), { recursive: true, force: true });
        return;
      case 'chmod':
        if ((await stat(target)).isFile()) await chmod(target, ((await stat(target)).mode & 0o100) === 0 ? 0o755 : 0o644);
        return;
      default:
        await rename(target, path.join(root, directory, `${this.pick(NAMES)} moved`));
    }
  }
}

/** Drops every path at or below a conflict root. */
function outsideConflicts(tree: Record<string, string> | null, state: SyncSessionState): Record<string, string> | null {
  if (tree === null) return null;
  const roots = state.conflicts.map((c) => c.root);
  return Object.fromEntries(Object.entries(tree).filter(([p]) => !roots.some((r) => r === '' || p === r || p.startsWith(`${r}/`))));
}

/**
 * Random concurrent edits on both sides, then flushes, for many rounds. Invariants per mode:
 * the session never fails or leaves temporary files; two-way-resolved and one-way-replica end
 * with equal trees; two-way-safe with equal trees outside conflicts; one-way modes never touch alpha.
 */
describe('random edits on both sides', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager, 'mutagen-random-');

  it.each([
    ['two-way-safe', 11],
    ['two-way-resolved', 12],
    ['one-way-safe', 13],
    ['one-way-replica', 14],
  ] as const)('%s (seed %i)', async (mode: SyncMode, seed) => {
    const next = random(seed);
    const alphaEditor = new Editor(next, 'A');
    const betaEditor = new Editor(next, 'B');
    await writeTree(ws.alpha, { keep: 'anchor', x: { type: 'dir' }, 'x/a': 'start' });
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { mode, watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    for (let round = 0; round < 20; round++) {
      await alphaEditor.edit(ws.alpha, 1 + Math.floor(next() * 4));
      await betaEditor.edit(ws.beta, Math.floor(next() * 4));
      const alphaBefore = canonical(await readTree(ws.alpha));
      await flushAndState(manager, id);
      const state = await flushAndState(manager, id);
      const context = `round ${round}: ${describeState(state)}`;
      expect(state.status, context).toBe('watching');
      expect(state.lastError, context).toBeUndefined();
      expect([...state.alpha.transitionProblems, ...state.beta.transitionProblems], context).toEqual([]);
      const alpha = canonical(await readTree(ws.alpha));
      const beta = canonical(await readTree(ws.beta));
      for (const tree of [alpha, beta]) expect(Object.keys(tree ?? {}).filter((p) => p.includes('.mutagen-temporary-')), context).toEqual([]);
      if (mode === 'one-way-safe' || mode === 'one-way-replica') expect(alpha, `${context}: alpha untouched`).toEqual(alphaBefore);
      if (mode === 'two-way-resolved' || mode === 'one-way-replica') {
        expect(state.conflicts, context).toEqual([]);
        expect(beta, context).toEqual(alpha);
      }
      if (mode === 'two-way-safe') expect(outsideConflicts(beta, state), context).toEqual(outsideConflicts(alpha, state));
      if (mode === 'one-way-safe') {
        // Every alpha path outside conflicts is on beta with alpha's content; beta may hold more.
        const betaOutside = outsideConflicts(beta, state) ?? {};
        for (const [p, value] of Object.entries(outsideConflicts(alpha, state) ?? {})) expect(betaOutside[p], `${context}: ${p}`).toBe(value);
      }
    }
    expect(await readdir(ws.beta)).toContain('keep');
  });
});
