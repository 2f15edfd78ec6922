import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { FORWARD_CHANNEL_STREAM_ID, resolveRemoteEndpoint } from '../../../src/forward/remote/messages.js';
import { ConnectionSlots } from '../../../src/forward/remote/slots.js';
import { Channel } from '../../../src/wire/channel.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { agentLoop, outcome, SOCKET } from './fixture.js';

const temp = useTempDirectories();
const timeout = (): AbortSignal => AbortSignal.timeout(10_000);

describe('serveForwardEndpoint against a misbehaving daemon', () => {
  it('answers malformed and repeated requests with clear errors and keeps serving', async () => {
    const home = await temp('mtfv-');
    const loop = agentLoop({ home });
    const stream = loop.client.open();
    expect(stream.id).toBe(FORWARD_CHANNEL_STREAM_ID);
    const channel = new Channel(stream, {});
    const initialize = (params: unknown): Promise<string> => outcome(channel.request('initialize', params, timeout()));

    expect(await initialize({ role: 'source', endpoint: 'unix:~/v.sock', socket: { ...SOCKET, permissionMode: 0o1777 } }))
      .toBe('MUTAGEN_PROTOCOL: invalid initialize request from daemon: socket.permissionMode: Too big: expected number to be <=511');
    expect(await initialize({ role: 'sideways', endpoint: 'unix:~/v.sock', socket: SOCKET })).toMatch(/^MUTAGEN_PROTOCOL: invalid initialize request from daemon: role: /);
    expect(await initialize({ role: 'source', endpoint: '', socket: SOCKET })).toMatch(/^MUTAGEN_PROTOCOL: invalid initialize request from daemon: endpoint: /);
    expect(await initialize({ role: 'source', endpoint: 'unix:~/v.sock', socket: SOCKET, extra: 1 })).toMatch(/^MUTAGEN_PROTOCOL: invalid initialize request from daemon: /);
    expect(await initialize(null)).toMatch(/^MUTAGEN_PROTOCOL: invalid initialize request from daemon: /);
    expect(await outcome(channel.request('reticulate', null, timeout()))).toBe('MUTAGEN_UNSUPPORTED: unknown forwarder method "reticulate"');

    // After all that, a good request still works, once.
    expect(await initialize({ role: 'source', endpoint: 'unix:~/v.sock', socket: SOCKET })).toBe('resolved');
    expect((await stat(path.join(home, 'v.sock'))).isSocket()).toBe(true);
    expect(await initialize({ role: 'destination', endpoint: 'tcp:127.0.0.1:1', socket: SOCKET })).toBe('MUTAGEN_PROTOCOL: the forwarding endpoint is already initialized');
    await channel.close();
    await loop.client.close();
    await loop.served;
    await expect(stat(path.join(home, 'v.sock'))).rejects.toThrow(/ENOENT/);
  });

  it('resets streams a daemon opens to a source endpoint', async () => {
    const home = await temp('mtfv-');
    const loop = agentLoop({ home });
    const channel = new Channel(loop.client.open(), {});
    expect(await outcome(channel.request('initialize', { role: 'source', endpoint: 'unix:~/r.sock', socket: SOCKET }, timeout()))).toBe('resolved');
    const stray = loop.client.open();
    stray.write('hello?');
    const error = await new Promise<Error>((resolve) => stray.once('error', resolve));
    expect(error).toBeInstanceOf(MutagenError);
    expect([(error as MutagenError).code, error.message]).toEqual(['MUTAGEN_PROTOCOL', 'unexpected stream 3 from the daemon (not a destination endpoint)']);
    await channel.close();
  });

  it('ends cleanly when the daemon goes away before initializing', async () => {
    const home = await temp('mtfv-');
    const loop = agentLoop({ home });
    loop.client.open();
    await loop.client.close();
    await loop.served;
    expect(await loop.server.closed).toBeUndefined();
  });
});

describe('resolveRemoteEndpoint', () => {
  it.each([
    ['unix:~', 'unix:/home/u'],
    ['unix:~/s.sock', 'unix:/home/u/s.sock'],
    ['unix:run/s.sock', 'unix:/home/u/run/s.sock'],
    ['unix:/run/../tmp/s.sock', 'unix:/tmp/s.sock'],
    ['unix:', 'unix:'],
    ['tcp:localhost:80', 'tcp:localhost:80'],
    ['tcp6:[::1]:80', 'tcp6:[::1]:80'],
  ])('%s → %s', (endpoint, resolved) => {
    expect(resolveRemoteEndpoint(endpoint, '/home/u')).toBe(resolved);
  });

  it("refuses another user's home", () => {
    expect(() => resolveRemoteEndpoint('unix:~root/x', '/home/u')).toThrow(/other users' home directories are not supported/);
  });
});

describe('ConnectionSlots', () => {
  it('holds at most its limit; release lets the next waiter in, in order; abort withdraws a waiter', async () => {
    const slots = new ConnectionSlots(2);
    const never = new AbortController().signal;
    await slots.acquire(never);
    await slots.acquire(never);
    const order: string[] = [];
    const third = slots.acquire(never).then(() => order.push('third'));
    const cancelled = new AbortController();
    const withdrawn = outcome(slots.acquire(cancelled.signal));
    const fourth = slots.acquire(never).then(() => order.push('fourth'));
    await new Promise((resolve) => setImmediate(resolve));
    expect([order, slots.inUse]).toEqual([[], 2]);
    cancelled.abort();
    expect(await withdrawn).toBe('MUTAGEN_CANCELLED: operation cancelled');
    slots.release();
    await third;
    expect([order, slots.inUse]).toEqual([['third'], 2]);
    slots.release();
    await fourth;
    expect([order, slots.inUse]).toEqual([['third', 'fourth'], 2]);
  });
});
