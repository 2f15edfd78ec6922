import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncManager } from '../../../src/sync/manager.js';
import { flushAndState, localSpec, waitForState, type Workspace, useEngine } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { canonical, listPaths, readTree, writeTree } from '../../helpers/tree.js';

describe('tree shapes', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  // Beta does not watch: chokidar re-reads every directory that a transition creates, which
  // makes the first cycle of a 10k-file tree several times slower (see the report).
  it('a 10k-file tree synchronizes, then small edits propagate through the alpha watcher', async () => {
    for (let d = 0; d < 100; d++) {
      const directory = path.join(ws.alpha, `d${d}`);
      await mkdir(directory, { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(path.join(directory, `f${f}.txt`), `file ${d}/${f}`)));
    }
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { betaWatchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await waitForState(manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching', 90_000);
    // Counts are those of the cycle's scans (before its transitions): flush once more to see beta's.
    const state = await flushAndState(manager, id);
    expect([state.alpha.files, state.alpha.directories, state.beta.files, state.beta.directories]).toEqual([10_000, 101, 10_000, 101]);
    expect(state.conflicts).toEqual([]);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(await readTree(ws.alpha)));
    // Beta first: the cycle that the alpha events trigger has necessarily seen the beta file.
    await writeFile(path.join(ws.beta, 'd8', 'new.txt'), 'created on beta');
    await writeFile(path.join(ws.alpha, 'd7', 'f7.txt'), 'edited on alpha');
    await rm(path.join(ws.alpha, 'd9'), { recursive: true });
    await eventually(async () => {
      expect(await readFile(path.join(ws.beta, 'd7', 'f7.txt'), 'utf8')).toBe('edited on alpha');
      expect(await readFile(path.join(ws.alpha, 'd8', 'new.txt'), 'utf8')).toBe('created on beta');
      await expect(stat(path.join(ws.beta, 'd9'))).rejects.toThrow(/ENOENT/);
    }, { timeoutMs: 60_000 });
    const after = await flushAndState(manager, id);
    expect([after.alpha.files, after.beta.files, after.conflicts.length]).toEqual([9_901, 9_901, 0]);
  });

  it('file roots: a single file synchronizes both ways, including executability', async () => {
    const alpha = ws.at('alpha.txt');
    const beta = ws.at('beta.txt');
    await writeFile(alpha, 'single file root');
    const id = await manager.create(localSpec(alpha, beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    let state = await flushAndState(manager, id);
    expect([state.alpha.files, state.alpha.directories, state.beta.files, state.beta.directories]).toEqual([1, 0, 1, 0]);
    expect(await readFile(beta, 'utf8')).toBe('single file root');
    expect((await stat(beta)).mode & 0o777).toBe(0o600);
    await writeFile(beta, 'edited on the beta side');
    await flushAndState(manager, id);
    expect(await readFile(alpha, 'utf8')).toBe('edited on the beta side');
    await chmod(alpha, 0o755);
    state = await flushAndState(manager, id);
    expect(state.conflicts).toEqual([]);
    expect((await stat(beta)).mode & 0o777).toBe(0o700);
    // Deleting a file root is a root deletion: halt, nothing removed on the other side.
    await rm(beta);
    await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(10_000)).catch(() => undefined);
    await waitForState(manager, id, (s) => s.status === 'halted-on-root-deletion');
    expect(await readFile(alpha, 'utf8')).toBe('edited on the beta side');
  });

  it('names with spaces, non-ASCII and both Unicode normal forms round-trip', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const tree = {
      'dir with spaces': { type: 'dir' as const },
      'dir with spaces/file name.txt': 'spaces',
      'ünïcödé': { type: 'dir' as const },
      'ünïcödé/日本語.txt': 'japanese',
      '🙂 emoji.md': 'emoji',
      [nfc]: 'composed',
      [nfd]: 'decomposed, longer',
      ' leading and trailing ': 'blank edges',
      'quote\'s & "amp"': 'punctuation',
    };
    await writeTree(ws.alpha, tree);
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    const state = await flushAndState(manager, id);
    expect([...state.alpha.scanProblems, ...state.beta.transitionProblems]).toEqual([]);
    expect(canonical(await readTree(ws.beta))).toEqual(canonical(tree));
    // Edits on beta under such names come back to alpha.
    await writeFile(path.join(ws.beta, 'ünïcödé', '日本語.txt'), 'edited japanese');
    await writeFile(path.join(ws.beta, nfd), 'edited decomposed');
    await flushAndState(manager, id);
    expect(await readFile(path.join(ws.alpha, 'ünïcödé', '日本語.txt'), 'utf8')).toBe('edited japanese');
    expect(await readFile(path.join(ws.alpha, nfd), 'utf8')).toBe('edited decomposed');
    expect(await readFile(path.join(ws.alpha, nfc), 'utf8')).toBe('composed');
  });

  it('case-only renames of files and directories propagate both ways', async () => {
    await writeTree(ws.alpha, { keep: 'anchor', 'Readme.md': 'readme', Docs: { type: 'dir' }, 'Docs/Guide.md': 'guide' });
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    await rename(path.join(ws.alpha, 'Readme.md'), path.join(ws.alpha, 'README.md'));
    await rename(path.join(ws.alpha, 'Docs'), path.join(ws.alpha, 'docs'));
    let state = await flushAndState(manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await listPaths(ws.beta)).toEqual(['README.md', 'docs', 'docs/Guide.md', 'keep']);
    await rename(path.join(ws.beta, 'docs', 'Guide.md'), path.join(ws.beta, 'docs', 'GUIDE.md'));
    state = await flushAndState(manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await listPaths(ws.alpha)).toEqual(['README.md', 'docs', 'docs/GUIDE.md', 'keep']);
    expect(await readFile(path.join(ws.alpha, 'docs', 'GUIDE.md'), 'utf8')).toBe('guide');
  });
});
