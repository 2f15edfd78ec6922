import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { IgnoreSyntax, SymlinkMode, SyncMode } from '../../../src/model/configuration.js';
import { isHaltedStatus, type SyncSessionState } from '../../../src/model/session.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { createWorkspace, describeState, localSpec, openManager, sessionState, waitForState, type Workspace } from '../../helpers/engine.js';
import { canonical, readTree, writeTree, type Tree } from '../../helpers/tree.js';

interface Vector {
  readonly name: string;
  readonly mode: SyncMode;
  readonly config?: { ignoreSyntax?: IgnoreSyntax; ignores?: string[]; symlinkMode?: SymlinkMode; ignoreVCS?: boolean };
  readonly ancestor: Tree;
  readonly alpha: Tree;
  readonly beta: Tree;
  readonly expect: {
    readonly alpha: Tree;
    readonly beta: Tree;
    readonly conflicts: number;
    readonly conflictRoots?: string[];
    readonly status?: string;
    readonly scanProblems?: { alpha: string[]; beta: string[] };
  };
}

const file = fileURLToPath(new URL('../../../../shared/acceptance/public-vectors.json', import.meta.url));
const corpus = JSON.parse(readFileSync(file, 'utf8')) as { count: number; vectors: Vector[] };

/**
 * The public acceptance vectors, in process: create on the ancestor tree, flush, pause, rewrite
 * both roots, resume, flush, then check trees, conflicts, status and scan problems. A second
 * flush must change nothing (quiescence: no ping-pong, no late conflicts). Run once with cycles
 * driven only by flushes and once with the watchers running as well.
 */
describe.each(['no-watch', 'portable'] as const)('public vectors through SyncManager on real directories (watch mode %s)', (watchMode) => {
  let workspace: Workspace;
  let manager: SyncManager;
  let counter = 0;

  beforeAll(async () => {
    workspace = await createWorkspace('mutagen-vectors-');
    ({ manager } = await openManager(workspace.data));
  });

  afterAll(async () => {
    await manager.close();
    await workspace.dispose();
  });

  it('covers the whole corpus', () => {
    expect(corpus.vectors).toHaveLength(corpus.count);
  });

  it.each(corpus.vectors.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    counter += 1;
    const alpha = workspace.at(`v${counter}`, 'alpha');
    const beta = workspace.at(`v${counter}`, 'beta');
    await writeTree(alpha, vector.ancestor);
    await writeTree(beta, vector.ancestor);
    const c = vector.config ?? {};
    const id = await manager.create(localSpec(alpha, beta, {
      mode: vector.mode,
      watchMode,
      ...(c.ignoreSyntax === undefined ? {} : { ignoreSyntax: c.ignoreSyntax }),
      ...(c.ignores === undefined ? {} : { ignores: c.ignores }),
      ...(c.symlinkMode === undefined ? {} : { symlinkMode: c.symlinkMode }),
      ...(c.ignoreVCS === undefined ? {} : { ignoreVcs: c.ignoreVCS }),
    }), { paused: false }, AbortSignal.timeout(10_000));
    const selection = { specifications: [id] };
    try {
      await manager.flush(selection, false, AbortSignal.timeout(20_000));
      await manager.pause(selection, AbortSignal.timeout(10_000));
      await writeTree(alpha, vector.alpha);
      await writeTree(beta, vector.beta);
      await manager.resume(selection, {}, AbortSignal.timeout(10_000));
      const state = await settle(manager, id, vector.expect.status);
      const context = `${vector.name}: ${describeState(state)}`;
      if (vector.expect.status === undefined) expect(isHaltedStatus(state.status), context).toBe(false);
      else expect(state.status, context).toBe(vector.expect.status);
      expect(state.conflicts.length, context).toBe(vector.expect.conflicts);
      if (vector.expect.conflictRoots !== undefined) {
        expect(state.conflicts.map((x) => x.root).sort(), context).toEqual([...vector.expect.conflictRoots].sort());
      }
      if (vector.expect.scanProblems !== undefined) {
        expect(state.alpha.scanProblems.map((p) => p.path).sort(), context).toEqual([...vector.expect.scanProblems.alpha].sort());
        expect(state.beta.scanProblems.map((p) => p.path).sort(), context).toEqual([...vector.expect.scanProblems.beta].sort());
      }
      expect(canonical(await readTree(alpha)), `${context} (alpha)`).toEqual(canonical(vector.expect.alpha));
      expect(canonical(await readTree(beta)), `${context} (beta)`).toEqual(canonical(vector.expect.beta));
    } finally {
      await manager.terminate(selection, AbortSignal.timeout(10_000));
    }
  });
});

/** Flush until quiescent (two flushes), or until the expected halt shows up (flush refused). */
async function settle(manager: SyncManager, id: string, halt: string | undefined): Promise<SyncSessionState> {
  const selection = { specifications: [id] };
  if (halt !== undefined) {
    const refused = await manager.flush(selection, false, AbortSignal.timeout(20_000)).then(() => false, (error: unknown) => {
      if (!(error instanceof MutagenError)) throw error;
      return true;
    });
    if (!refused) return sessionState(manager, id);
    return waitForState(manager, id, (s) => isHaltedStatus(s.status), 20_000);
  }
  await manager.flush(selection, false, AbortSignal.timeout(20_000));
  const first = await sessionState(manager, id);
  await manager.flush(selection, false, AbortSignal.timeout(20_000));
  const second = await sessionState(manager, id);
  expect(second.conflicts.length, 'conflicts are stable across flushes').toBe(first.conflicts.length);
  return second;
}
