import { open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushAndState, waitForState } from '../../helpers/engine.js';
import { hashFile, temporaries, writeRandomFile } from '../../helpers/tree.js';
import { remoteSpec, useRemote, type RemoteSetup } from './remote-fixture.js';

const MIB = 1024 * 1024;



describe('large files with a remote beta', () => {
  let r: RemoteSetup;
  useRemote((setup) => { r = setup; });

  it('moves a 64 MiB file to the agent, a modified copy and a new 32 MiB file back, byte-identical', async () => {
    const alphaFile = path.join(r.ws.alpha, 'big.bin');
    await writeRandomFile(alphaFile, 64 * MIB);
    const beta = path.join(r.home, 'big');
    const betaFile = path.join(beta, 'big.bin');
    const id = await r.manager.create(remoteSpec(r.ws.alpha, beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    let state = await flushAndState(r.manager, id);
    expect(state.lastError).toBeUndefined();
    expect(await hashFile(betaFile)).toBe(await hashFile(alphaFile));
    // Change a few bytes in the middle on the agent's side: the daemon receives an rsync delta.
    const handle = await open(betaFile, 'r+');
    await handle.write(Buffer.from('edited on the remote side'), 0, undefined, 40 * MIB);
    await handle.close();
    // And a new 32 MiB file created on the agent's side travels whole (no base to delta against).
    await writeRandomFile(path.join(beta, 'new.bin'), 32 * MIB);
    state = await flushAndState(r.manager, id);
    expect(state.conflicts).toEqual([]);
    expect(await hashFile(alphaFile)).toBe(await hashFile(betaFile));
    expect(await hashFile(path.join(r.ws.alpha, 'new.bin'))).toBe(await hashFile(path.join(beta, 'new.bin')));
    expect(await temporaries(r.ws.alpha)).toEqual([]);
    expect(await temporaries(beta)).toEqual([]);
  });

  it('recovers from a link cut in the middle of a 64 MiB transfer, leaving no partial files', async () => {
    const alphaFile = path.join(r.ws.alpha, 'big.bin');
    await writeRandomFile(alphaFile, 64 * MIB);
    await writeFile(path.join(r.ws.alpha, 'small.txt'), 'small');
    const beta = path.join(r.home, 'cut');
    const id = await r.manager.create(remoteSpec(r.ws.alpha, beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await r.manager.flush({ specifications: [id] }, true, AbortSignal.timeout(10_000));
    // The agent reports staging progress while it receives: cut the link once bytes are flowing.
    await waitForState(r.manager, id, (s) => (s.beta.stagingProgress?.totalReceivedSize ?? 0) > 0);
    r.loop.kill();
    await waitForState(r.manager, id, (s) => s.lastError?.includes('connection to agent lost') === true);
    // The controller reconnects at once after a first failure (connector called again)...
    await waitForState(r.manager, id, (s) => s.status === 'watching' && s.beta.connected);
    expect(r.loop.requests.length).toBe(2);
    // ...and the next cycle converges.
    let state = await flushAndState(r.manager, id);
    expect(state.successfulCycles).toBe(1);
    expect(await hashFile(path.join(beta, 'big.bin'))).toBe(await hashFile(alphaFile));
    expect(await temporaries(r.ws.alpha)).toEqual([]);
    expect(await temporaries(beta)).toEqual([]);
    // The agent's staging area was wiped after the transition (the cut transfer's sink aborted).
    expect(await readdir(path.join(r.agentData, 'staging'), { recursive: true }).catch(() => [])).toEqual([]);
    state = await flushAndState(r.manager, id);
    expect([state.beta.files, state.lastError]).toEqual([2, undefined]);
  });
});
