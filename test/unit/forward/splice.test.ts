import { once } from 'node:events';
import { PassThrough, Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { splice } from '../../../src/forward/splice.js';
import { useTempDirectories } from '../../helpers/temp.js';
import type { SocketPair } from './socket-pairs.js';
import { closed, readAll, socketPair } from './socket-pairs.js';

const temp = useTempDirectories();
const never = new AbortController().signal;
const pairs: SocketPair[] = [];
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close();
});

/** user ⇄ [source | splice | destination] ⇄ target, over real sockets. */
async function spliced(kind: 'tcp' | 'unix', signal = never, pooled = false): Promise<{ user: SocketPair['outer']; target: SocketPair['outer']; done: Promise<void>; counts: { outbound: number; inbound: number } }> {
  const directory = kind === 'unix' ? await temp('mt-sp-') : undefined;
  const front = await socketPair(kind, directory, { pooled });
  const back = await socketPair(kind, directory, { pooled });
  pairs.push(front, back);
  const counts = { outbound: 0, inbound: 0 };
  const done = splice(front.inner, back.outer, { onOutbound: (n) => { counts.outbound += n; }, onInbound: (n) => { counts.inbound += n; } }, signal);
  return { user: front.outer, target: back.inner, done, counts };
}

describe('splice', () => {
  it.each([
    ['tcp', false], ['unix', false], ['tcp', true], ['unix', true],
  ] as const)('copies both ways, half-closes, counts and resolves once both are closed (%s, pooled reads: %s)', async (kind, pooled) => {
    const { user, target, done, counts } = await spliced(kind, never, pooled);
    user.end('request');
    // The target sees EOF but can still answer: the other direction stays open.
    expect((await readAll(target)).toString()).toBe('request');
    target.end('a reply after the request was complete');
    expect((await readAll(user)).toString()).toBe('a reply after the request was complete');
    await done;
    expect(counts).toEqual({ outbound: 7, inbound: 38 });
    await Promise.all([closed(user), closed(target)]);
  });

  it('half-closes the other way too (the target ends first)', async () => {
    const { user, target, done } = await spliced('tcp');
    target.end('banner');
    expect((await readAll(user)).toString()).toBe('banner');
    user.end('late request');
    expect((await readAll(target)).toString()).toBe('late request');
    await done;
  });

  it('resets the user connection when the target connection is reset (tcp)', async () => {
    const { user, target, done } = await spliced('tcp');
    const failure = new Promise<unknown>((resolve) => user.once('error', resolve));
    target.resetAndDestroy();
    await done;
    expect(await failure).toMatchObject({ code: 'ECONNRESET' });
  });

  it('tears the other side down when one side is destroyed locally', async () => {
    const directory = await temp('mt-sp-');
    const front = await socketPair('unix', directory);
    const back = await socketPair('unix', directory);
    pairs.push(front, back);
    const done = splice(front.inner, back.outer, {}, never);
    const userEnd = readAll(front.outer);
    back.outer.destroy();
    await done;
    expect(front.inner.destroyed).toBe(true);
    expect((await userEnd).length).toBe(0);
  });

  it('treats a closed Unix socket peer as EOF: the other direction stays usable', async () => {
    const { user, target, done } = await spliced('unix');
    const userEnd = readAll(user);
    target.destroy();
    expect((await userEnd).length).toBe(0);
    user.end();
    await done;
  });

  it('destroys both on abort and still resolves', async () => {
    const controller = new AbortController();
    const { user, target, done } = await spliced('tcp', controller.signal);
    user.write('x');
    await once(target, 'data');
    const ends = Promise.all([readAll(user), readAll(target)]);
    controller.abort();
    await done;
    // Both peers see their connection end (the spliced sockets are gone).
    await ends;
  });

  it('resolves at once for streams that are already closed, destroying the other', async () => {
    const a = new PassThrough();
    const b = Duplex.from({ readable: new PassThrough(), writable: new PassThrough() });
    a.destroy();
    await once(a, 'close');
    await splice(a, b, {}, never);
    expect(b.destroyed).toBe(true);
  });

  it.each([false, true])('passes data that was buffered before the splice started (pooled reads: %s)', async (pooled) => {
    const front = await socketPair('tcp', undefined, { pooled });
    const back = await socketPair('tcp', undefined, { pooled });
    pairs.push(front, back);
    front.outer.end('early bytes');
    await once(front.inner, 'readable');
    const done = splice(front.inner, back.outer, {}, never);
    expect((await readAll(back.inner)).toString()).toBe('early bytes');
    back.inner.end();
    await done;
  });
});
