import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StageMode } from '../../../src/model/configuration.js';
import { createWorkspace, flushAndState, localSpec, openManager, waitForState, type Workspace } from '../../helpers/engine.js';
import { hashFile, listPaths } from '../../helpers/tree.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = path.join(REPOSITORY, 'test/helpers/engine-child.ts');
const MIB = 1024 * 1024;

/** Writes `size` bytes of fresh random data, 1 MiB at a time. */
async function writeRandomFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  for (let written = 0; written < size; written += MIB) {
    if (!out.write(randomBytes(Math.min(MIB, size - written)))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

interface StateLine { event: string; id?: string; status?: string; received?: number }

/**
 * Runs the `stage` scenario in a child and SIGKILLs it once beta's staging has received more
 * than `killAfter` bytes (a file is partly staged). Resolves to the
 * session id and the last state line seen.
 */
function stageUntilKilled(children: ChildProcess[], args: Record<string, string>, killAfter: number): Promise<{ id: string; last: StateLine }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'stage', JSON.stringify(args)], { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk.slice(0, 10_000); });
  return new Promise((resolve, reject) => {
    let id = '';
    let last: StateLine = { event: 'none' };
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as StateLine;
      last = line;
      if (line.id !== undefined) id = line.id;
      if (line.status === 'staging-beta' && (line.received ?? 0) > killAfter && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
        resolve({ id, last });
      } else if (line.status === 'transitioning') {
        reject(new Error('staging finished before the child could be killed; use larger files'));
      }
    });
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited (${code ?? signal ?? '?'}) before staging was interrupted; last=${JSON.stringify(last)} ${stderr}`));
    });
  });
}

/**
 * Every regular file of `beta` (outside `.mutagen-temporary-*` staging areas) equals its
 * counterpart in `alpha`; returns how many there were.
 */
async function assertNoPartialFiles(alpha: string, beta: string): Promise<number> {
  let files = 0;
  for (const relative of await listPaths(beta)) {
    if (relative.split('/').some((part) => part.startsWith('.mutagen-temporary-'))) continue;
    const info = await stat(path.join(beta, relative));
    if (!info.isFile()) continue;
    files += 1;
    expect(await hashFile(path.join(beta, relative)), relative).toBe(await hashFile(path.join(alpha, relative)));
  }
  return files;
}

describe('interrupted staging', () => {
  let ws: Workspace;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    ws = await createWorkspace('mutagen-crash-');
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }
    await ws.dispose();
  });

  it.each([
    ['mutagen', 96 * MIB],
    ['internal', 96 * MIB],
  ] as const)('kill -9 with staging mode %s: nothing partial ever reaches a root and a restart completes the sync', async (stageMode: StageMode, size) => {
    await mkdir(path.join(ws.alpha, 'big dir'), { recursive: true });
    const names = ['one.bin', 'two.bin', 'big dir/three.bin', 'big dir/four.bin'];
    for (const name of names) await writeRandomFile(path.join(ws.alpha, name), size);
    await mkdir(ws.beta);
    const { id, last } = await stageUntilKilled(children, { alpha: ws.alpha, beta: ws.beta, data: ws.data, stageMode }, size / 2);
    expect(last.status).toBe('staging-beta');
    // The kill left a partial file in the staging area (data dir, or inside beta for `internal`):
    // a file the staging journal does not list.
    const stagingArea = stageMode === 'internal'
      ? path.join(ws.beta, `.mutagen-temporary-staging-${id}-beta`)
      : path.join(ws.data, 'staging', `${id}-beta`);
    expect((await readdir(stagingArea)).some((name) => name !== 'journal')).toBe(true);
    // Nothing transitions before staging completes: beta holds no large file, alpha is intact.
    expect(await assertNoPartialFiles(ws.alpha, ws.beta)).toBe(0);
    expect((await listPaths(ws.alpha)).sort()).toEqual(['big dir', ...names].sort());

    const { manager, failures } = await openManager(ws.data);
    try {
      expect(failures).toEqual([]);
      // A flush is only accepted once both endpoints are connected again.
      await waitForState(manager, id, (s) => s.status === 'watching');
      const state = await flushAndState(manager, id);
      expect(state.conflicts).toEqual([]);
      expect(state.lastError).toBeUndefined();
      expect([...state.alpha.transitionProblems, ...state.beta.transitionProblems]).toEqual([]);
      expect(await assertNoPartialFiles(ws.alpha, ws.beta)).toBe(names.length);
      expect(await listPaths(ws.beta)).toEqual(await listPaths(ws.alpha));
      for (const root of [ws.alpha, ws.beta]) {
        expect((await listPaths(root)).filter((p) => p.includes('.mutagen-temporary-'))).toEqual([]);
      }
      // A second cycle finds nothing to do.
      const again = await flushAndState(manager, id);
      expect(again.successfulCycles).toBe(state.successfulCycles + 1);
      expect(again.conflicts).toEqual([]);
    } finally {
      await manager.close();
    }
    const staging = await readdir(path.join(ws.data, 'staging'));
    expect(staging).toEqual([]);
    await rm(ws.alpha, { recursive: true });
  });

  it.each(['pause', 'terminate'] as const)('%s in the middle of staging leaves no partial file anywhere', async (operation) => {
    // Local staging copies whole files in the file threads and reports each once copied: wait for
    // the first ones, with others still to come (a later mark could fall between two progress reports).
    const names = ['a.bin', 'b.bin', 'c.bin', 'd.bin'];
    await mkdir(ws.alpha);
    await mkdir(ws.beta);
    for (const name of names) await writeRandomFile(path.join(ws.alpha, name), 48 * MIB);
    const { manager } = await openManager(ws.data);
    try {
      const id = await manager.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
      const selection = { specifications: [id] };
      await manager.flush(selection, true, AbortSignal.timeout(10_000));
      await waitForState(manager, id, (s) => s.status === 'staging-beta' && (s.beta.stagingProgress?.totalReceivedSize ?? 0) > 0);
      if (operation === 'pause') {
        await manager.pause(selection, AbortSignal.timeout(10_000));
        expect(await assertNoPartialFiles(ws.alpha, ws.beta)).toBe(0);
        const staged = await readdir(path.join(ws.data, 'staging', `${id}-beta`));
        expect(staged.filter((n) => n.startsWith('.mutagen-temporary-'))).toEqual([]);
        await manager.resume(selection, {}, AbortSignal.timeout(10_000));
        const state = await flushAndState(manager, id);
        expect(state.lastError).toBeUndefined();
        expect(await assertNoPartialFiles(ws.alpha, ws.beta)).toBe(names.length);
      } else {
        await manager.terminate(selection, AbortSignal.timeout(10_000));
        expect(await assertNoPartialFiles(ws.alpha, ws.beta)).toBe(0);
        // Terminate releases the session's staging area (no orphaned staged files in the data directory).
        expect(await readdir(path.join(ws.data, 'staging'))).toEqual([]);
      }
      expect((await listPaths(ws.beta)).filter((p) => p.includes('.mutagen-temporary-'))).toEqual([]);
    } finally {
      await manager.close();
    }
  });
});
