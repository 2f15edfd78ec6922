import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { whenAborted } from '../../../src/base/abort.js';
import { MutagenError } from '../../../src/base/errors.js';
import { Channel } from '../../../src/wire/channel.js';
import type { Multiplexer } from '../../../src/wire/multiplexer.js';
import { flushAndState, localSpec, waitForState } from '../../helpers/engine.js';
import { readTree, writeTree } from '../../helpers/tree.js';
import { remoteSpec, useRemote, type RemoteSetup } from './remote-fixture.js';

/** An agent whose snapshot claims a file named ".." (i.e. outside the root). */
async function lyingAgent(mux: Multiplexer, signal: AbortSignal): Promise<void> {
  const stream = await mux.accept(signal);
  const snapshot = {
    sequence: 1, base: null, nodes: 2, preservesExecutability: true, decomposesUnicode: false,
    directories: 1, files: 1, symbolicLinks: 0, totalFileSize: 5,
    replacements: [['', [0, ['..', [2, new Uint8Array(20).fill(7), false]]]]],
  };
  const channel = new Channel(stream, {
    handler: async (method, _params, requestSignal) => {
      switch (method) {
        case 'connect': return { root: '/' };
        case 'scan': return { kind: 'snapshot', snapshot };
        case 'poll':
          await whenAborted(requestSignal);
          throw new MutagenError('MUTAGEN_CANCELLED', 'poll cancelled');
        case 'shutdown': return null;
        default: throw new MutagenError('MUTAGEN_UNSUPPORTED', `unexpected ${method}`);
      }
    },
  });
  await Promise.race([channel.closed, mux.closed, whenAborted(signal)]);
  await channel.close();
  await mux.close();
}

describe('a lying agent', () => {
  let r: RemoteSetup;
  useRemote((setup) => { r = setup; }, { server: lyingAgent });

  it('fails the session with a protocol error, writes nothing outside the root, and the manager keeps running', async () => {
    await writeTree(r.ws.alpha, { a: 'alpha content' });
    const before = (await readdir(r.ws.base)).sort();
    const id = await r.manager.create(remoteSpec(r.ws.alpha, 'victim', { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await r.manager.flush({ specifications: [id] }, true, AbortSignal.timeout(10_000));
    const failed = await waitForState(r.manager, id, (s) => s.lastError !== undefined);
    expect(failed.lastError).toMatch(/^invalid snapshot from agent: dot name "\.\."/);
    expect(failed.successfulCycles).toBe(0);
    // Nothing was written anywhere: not beside the alpha root, not into it.
    expect((await readdir(r.ws.base)).sort()).toEqual(before);
    expect(await readTree(r.ws.alpha)).toEqual({ a: { type: 'file', content: 'alpha content', executable: false } });
    // The daemon side keeps working: another (local) session in the same manager synchronizes.
    await writeTree(r.ws.at('x'), { f: 'fine' });
    const other = await r.manager.create(localSpec(r.ws.at('x'), r.ws.at('y'), { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    const state = await flushAndState(r.manager, other);
    expect(state.lastError).toBeUndefined();
    expect(await readTree(r.ws.at('y'))).toEqual({ f: { type: 'file', content: 'fine', executable: false } });
    expect(r.loop.requests.length).toBeGreaterThanOrEqual(1);
  });
});
