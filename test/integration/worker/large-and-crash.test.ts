import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushAndState, localSpec, waitForState } from '../../helpers/engine.js';
import { hashFile, temporaries, writeRandomFile } from '../../helpers/tree.js';
import { useWorkerEngine, type WorkerSetup } from './worker-fixture.js';

const MIB = 1024 * 1024;



describe('large files and crashes with beta in a worker thread', () => {
  let w: WorkerSetup;
  useWorkerEngine((setup) => { w = setup; });

  it('moves 64 MiB files both ways byte-identical (alpha to the worker, the worker to alpha, an edit back)', async () => {
    const alphaFile = path.join(w.ws.alpha, 'big.bin');
    await writeRandomFile(alphaFile, 64 * MIB);
    const betaFile = path.join(w.ws.beta, 'big.bin');
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(20_000));
    let state = await flushAndState(w.manager, id);
    expect(state.lastError).toBeUndefined();
    expect(await hashFile(betaFile)).toBe(await hashFile(alphaFile));
    // A new 64 MiB file made on beta's side travels from the worker to alpha.
    await writeRandomFile(path.join(w.ws.beta, 'from-beta.bin'), 64 * MIB);
    // And an edit in the middle of the first one on beta's side comes back too.
    const handle = await open(betaFile, 'r+');
    await handle.write(Buffer.from('edited on beta'), 0, undefined, 40 * MIB);
    await handle.close();
    state = await flushAndState(w.manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await hashFile(path.join(w.ws.alpha, 'from-beta.bin'))).toBe(await hashFile(path.join(w.ws.beta, 'from-beta.bin')));
    expect(await hashFile(alphaFile)).toBe(await hashFile(betaFile));
    expect(await temporaries(w.ws.alpha)).toEqual([]);
    expect(await temporaries(w.ws.beta)).toEqual([]);
  });

  it('a worker terminated in the middle of a 64 MiB transfer: the session reconnects with a new worker and converges', async () => {
    const alphaFile = path.join(w.ws.alpha, 'big.bin');
    await writeRandomFile(alphaFile, 64 * MIB);
    await writeFile(path.join(w.ws.alpha, 'small.txt'), 'small');
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(20_000));
    await w.manager.flush({ specifications: [id] }, true, AbortSignal.timeout(10_000));
    await waitForState(w.manager, id, (s) => (s.beta.stagingProgress?.totalReceivedSize ?? 0) > 0);
    const first = w.workers[0];
    expect(first).toBeDefined();
    await first?.terminate();
    await waitForState(w.manager, id, (s) => s.lastError?.includes('connection to agent lost') === true);
    await waitForState(w.manager, id, (s) => s.status === 'watching' && s.beta.connected);
    expect(w.workers).toHaveLength(2);
    expect(first?.threadId).toBe(-1);
    let state = await flushAndState(w.manager, id);
    expect(state.successfulCycles).toBe(1);
    expect(await hashFile(path.join(w.ws.beta, 'big.bin'))).toBe(await hashFile(alphaFile));
    expect(await temporaries(w.ws.alpha)).toEqual([]);
    expect(await temporaries(w.ws.beta)).toEqual([]);
    // Beta's staging area (the daemon's, as for in-process endpoints) was emptied by the transition.
    expect(await readdir(path.join(w.ws.data, 'staging'), { recursive: true })).toEqual([]);
    state = await flushAndState(w.manager, id);
    expect([state.beta.files, state.lastError]).toEqual([2, undefined]);
  });

  it('a worker that dies while the session watches is replaced and synchronization goes on', async () => {
    await mkdir(w.ws.alpha, { recursive: true });
    await writeFile(path.join(w.ws.alpha, 'a'), 'one');
    const id = await w.manager.create(localSpec(w.ws.alpha, w.ws.beta), { paused: false }, AbortSignal.timeout(20_000));
    await waitForState(w.manager, id, (s) => s.successfulCycles >= 1 && s.status === 'watching');
    await w.workers[0]?.terminate();
    await waitForState(w.manager, id, (s) => w.workers.length === 2 && s.status === 'watching' && s.beta.connected);
    await writeFile(path.join(w.ws.beta, 'b'), 'after the crash');
    const state = await flushAndState(w.manager, id);
    expect(state.lastError).toBeUndefined();
    expect(await hashFile(path.join(w.ws.alpha, 'b'))).toBe(await hashFile(path.join(w.ws.beta, 'b')));
  });
});
