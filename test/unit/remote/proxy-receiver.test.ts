import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Tripwire } from '../../../src/base/abort.js';
import { MutagenError } from '../../../src/base/errors.js';
import type { Transmission } from '../../../src/sync/endpoint.js';
import { ProxyReceiver } from '../../../src/sync/remote/proxy-receiver.js';
import { unbatch } from '../../../src/sync/remote/transmission.js';
import { MessageReader } from '../../../src/wire/messages.js';

const small: Transmission = { kind: 'operation', operation: { kind: 'data', data: new Uint8Array(100).fill(1) }, expectedSize: 100 };
const done: Transmission = { kind: 'done' };

function receiver(lost: Tripwire, request: (stream: PassThrough) => Promise<void>): { proxy: ProxyReceiver; opened: PassThrough[] } {
  const opened: PassThrough[] = [];
  const proxy = new ProxyReceiver({
    open: () => {
      const stream = Object.assign(new PassThrough(), { id: 3 });
      opened.push(stream);
      return stream;
    },
    request: () => request(opened[0] as PassThrough),
    lost,
    translate: (error) => Promise.resolve(error),
    onFinish: () => undefined,
  });
  return { proxy, opened };
}

describe('proxy receiver', () => {
  it('forwards every transmission without leaving anything attached to the connection per write', async () => {
    const lost = new Tripwire();
    let count = 0;
    const { proxy } = receiver(lost, async (stream) => {
      const reader = new MessageReader(stream);
      for (let value = await reader.read(AbortSignal.timeout(10_000)); value !== undefined; value = await reader.read(AbortSignal.timeout(10_000))) count += unbatch(value).length;
    });
    for (let i = 0; i < 2000; i++) {
      await proxy.write(small);
      await proxy.write(done);
    }
    await proxy.finish();
    expect(count).toBe(4000);
    expect(lost.waiting).toBe(0);
  });

  it('fails a pending write with the connection failure, and the next one with the agent\'s reason', async () => {
    const lost = new Tripwire();
    const { proxy, opened } = receiver(lost, () => new Promise<void>(() => undefined));
    await proxy.write(small);
    // Nobody reads the stream: writes wait for it to drain until the connection is lost.
    const big: Transmission = { kind: 'operation', operation: { kind: 'data', data: new Uint8Array(60_000) } };
    const pending = (async () => { for (;;) await proxy.write(big); })();
    lost.trip(new MutagenError('MUTAGEN_TRANSPORT', 'connection to agent lost: closed'));
    await expect(pending).rejects.toThrow('connection to agent lost: closed');
    expect(opened[0]?.destroyed).toBe(true);

    const other = receiver(new Tripwire(), () => Promise.reject(new MutagenError('MUTAGEN_STAGING', 'no space left on device')));
    await expect((async () => { for (;;) await other.proxy.write(small); })()).rejects.toThrow('no space left on device');
  });
});
