import { afterEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { Channel } from '../../../src/wire/channel.js';
import type { ChannelOptions } from '../../../src/wire/channel.js';
import { encodeMessage } from '../../../src/wire/messages.js';
import { muxPair } from './pair.js';

const never = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function channels(server: ChannelOptions, client: ChannelOptions = {}): Promise<{ client: Channel; server: Channel; raw: ReturnType<typeof muxPair> }> {
  const raw = muxPair();
  cleanups.push(raw.close);
  const stream = raw.client.open();
  const clientChannel = new Channel(stream, client);
  const serverChannel = new Channel(await raw.server.accept(never), server);
  return { client: clientChannel, server: serverChannel, raw };
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('Channel', () => {
  it('answers requests, concurrently and out of order', async () => {
    const gates = new Map<string, ReturnType<typeof deferred<void>>>([['slow', deferred()], ['fast', deferred()]]);
    const { client } = await channels({
      handler: async (method, params) => {
        await gates.get(method)?.promise;
        return { method, echo: params };
      },
    });
    const slow = client.request('slow', { n: 1 }, never);
    const fast = client.request('fast', { bytes: Uint8Array.of(9) }, never);
    gates.get('fast')?.resolve();
    const fastResult = (await fast) as { method: string; echo: { bytes: Uint8Array } };
    expect(fastResult.method).toBe('fast');
    expect([...fastResult.echo.bytes]).toEqual([9]);
    gates.get('slow')?.resolve();
    expect(await slow).toEqual({ method: 'slow', echo: { n: 1 } });
  });

  it('moves messages far larger than the stream credit both ways', async () => {
    const { client } = await channels({ handler: (_method, params) => Promise.resolve({ size: (params as Uint8Array).length, back: params }) });
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 0x5a);
    const result = (await client.request('echo', big, never)) as { size: number; back: Uint8Array };
    expect(result.size).toBe(big.length);
    expect(Buffer.from(result.back).equals(big)).toBe(true);
  });

  it('serves requests in both directions', async () => {
    const { client, server } = await channels(
      { handler: (method) => Promise.resolve(`server:${method}`) },
      { handler: (method) => Promise.resolve(`client:${method}`) },
    );
    expect(await Promise.all([client.request('a', null, never), server.request('b', null, never)])).toEqual(['server:a', 'client:b']);
  });

  it('carries errors with code, message and hint', async () => {
    const { client } = await channels({
      handler: (method) => {
        if (method === 'known') return Promise.reject(new MutagenError('MUTAGEN_STAGING', 'staging failed', { hint: 'Retry later.' }));
        return Promise.reject(new RangeError('index out of range'));
      },
    });
    const known = await client.request('known', null, never).catch((error: unknown) => error);
    expect(known).toBeInstanceOf(MutagenError);
    expect(known).toMatchObject({ code: 'MUTAGEN_STAGING', message: 'staging failed', hint: 'Retry later.' });
    await expect(client.request('other', null, never)).rejects.toMatchObject({ code: 'MUTAGEN_INTERNAL', message: 'index out of range' });
  });

  it('answers unknown methods when there is no handler', async () => {
    const { client } = await channels({});
    await expect(client.request('nothing', null, never)).rejects.toMatchObject({ code: 'MUTAGEN_UNSUPPORTED', message: 'unknown method "nothing"' });
  });

  it('cancels: the caller rejects at once and the handler sees its signal abort', async () => {
    const started = deferred<AbortSignal>();
    const { client } = await channels({
      handler: (_method, _params, signal) => {
        started.resolve(signal);
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
      },
    });
    const abort = new AbortController();
    const pending = client.request('wait', null, abort.signal);
    const signal = await started.promise;
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));
    expect(signal.aborted).toBe(true);
    // The channel keeps working afterwards.
    await expect(client.request('wait', null, AbortSignal.abort())).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
  });

  it('delivers events in order', async () => {
    const received: [string, unknown][] = [];
    const done = deferred<void>();
    const { client } = await channels({
      onEvent: (name, data) => {
        received.push([name, data]);
        if (name === 'last') done.resolve();
      },
    });
    for (let i = 0; i < 100; i++) client.event('tick', i);
    client.event('last', null);
    await done.promise;
    expect(received.length).toBe(101);
    expect(received.slice(0, 100).map(([, data]) => data)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('ends on a malformed message: the channel closes with MUTAGEN_PROTOCOL and pending requests reject', async () => {
    const raw = muxPair();
    cleanups.push(raw.close);
    const stream = raw.client.open();
    const channel = new Channel(stream, {});
    const peer = await raw.server.accept(never);
    const pending = channel.request('x', null, never);
    peer.write(Buffer.concat(encodeMessage({ type: 'result', id: 'one', value: 1 })));
    const error = await channel.closed;
    expect(error?.code).toBe('MUTAGEN_PROTOCOL');
    expect(error?.message).toMatch(/^malformed channel message/);
    await expect(pending).rejects.toBe(error);
    await expect(channel.request('y', null, never)).rejects.toBe(error);
  });

  it('ends on a reply to a request never sent', async () => {
    const raw = muxPair();
    cleanups.push(raw.close);
    const channel = new Channel(raw.client.open(), {});
    const peer = await raw.server.accept(never);
    peer.write(Buffer.concat(encodeMessage({ type: 'result', id: 99, value: 1 })));
    expect(await channel.closed).toMatchObject({ code: 'MUTAGEN_PROTOCOL', message: 'reply to request 99, which was never sent' });
  });

  it('rejects pending requests when the peer closes, and resolves closed cleanly', async () => {
    const started = deferred<void>();
    const { client, server } = await channels({ handler: () => { started.resolve(); return new Promise(() => undefined); } });
    const pending = client.request('hang', null, never);
    await started.promise;
    await server.close();
    expect(await server.closed).toBeUndefined();
    await expect(pending).rejects.toMatchObject({ code: 'MUTAGEN_TRANSPORT' });
    expect(await client.closed).toBeUndefined();
  });

  it('rejects pending requests when the connection fails', async () => {
    const { client, raw } = await channels({ handler: () => new Promise(() => undefined) });
    const pending = client.request('hang', null, never);
    await raw.client.close(new MutagenError('MUTAGEN_TRANSPORT', 'ssh connection lost'));
    await expect(pending).rejects.toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: 'ssh connection lost' });
    expect(await client.closed).toMatchObject({ message: 'ssh connection lost' });
  });
});
