import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import { connectRemoteDestination, connectRemoteSource } from '../../../src/forward/remote/client.js';
import type { Multiplexer, WireStream } from '../../../src/wire/multiplexer.js';
import { fakeAgent, outcome, SOCKET } from './fixture.js';

const timeout = (): AbortSignal => AbortSignal.timeout(10_000);
const request = { endpoint: 'tcp:127.0.0.1:9', socket: SOCKET };
const honest = (method: string): Promise<unknown> => Promise.resolve(method === 'initialize' || method === 'shutdown' ? null : undefined);

/** Answers each stream the daemon opens (after the channel) with `answer`. */
function answerDials(server: Multiplexer, answer: (stream: WireStream) => void): void {
  void (async () => {
    try {
      for (;;) answer(await server.accept(timeout()));
    } catch {
      // closed
    }
  })();
}

describe('the daemon against a lying forwarder agent', () => {
  it('an initialize result other than null is a protocol error that closes the connection', async () => {
    const agent = fakeAgent((method) => Promise.resolve(method === 'initialize' ? 'yes' : null));
    let closed = false;
    const result = await outcome(connectRemoteDestination(agent.client, request, { logger: silentLogger, owned: { close: () => { closed = true; } } }, timeout()));
    expect(result).toBe('MUTAGEN_PROTOCOL: invalid initialize result from agent: expected null');
    expect(closed).toBe(true);
    expect((await agent.client.closed)?.code).toBe('MUTAGEN_PROTOCOL');
  });

  it('a status byte other than 0x00 fails the dial and the whole endpoint with MUTAGEN_PROTOCOL', async () => {
    const agent = fakeAgent(honest);
    answerDials(agent.server, (stream) => stream.write(Buffer.from([0x07, 0x41])));
    const destination = await connectRemoteDestination(agent.client, request, { logger: silentLogger }, timeout());
    expect(await outcome(destination.dial(timeout()))).toBe('MUTAGEN_PROTOCOL: invalid dial status from agent: byte 0x07');
    expect((await destination.failure).code).toBe('MUTAGEN_PROTOCOL');
    expect((await agent.client.closed)?.code).toBe('MUTAGEN_PROTOCOL');
    expect(await outcome(destination.dial(timeout()))).toBe('MUTAGEN_PROTOCOL: invalid dial status from agent: byte 0x07');
  });

  it('a stream that ends before its status byte is a protocol error', async () => {
    const agent = fakeAgent(honest);
    answerDials(agent.server, (stream) => stream.end());
    const destination = await connectRemoteDestination(agent.client, request, { logger: silentLogger }, timeout());
    expect(await outcome(destination.dial(timeout()))).toBe('MUTAGEN_PROTOCOL: invalid dial status from agent: the stream ended before it');
  });

  it('the status byte may arrive with the first data: what follows it is kept', async () => {
    const agent = fakeAgent(honest);
    answerDials(agent.server, (stream) => stream.end(Buffer.concat([Buffer.of(0), Buffer.from('payload')])));
    const destination = await connectRemoteDestination(agent.client, request, { logger: silentLogger }, timeout());
    const stream = await destination.dial(timeout());
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('payload');
    await destination.shutdown();
  });

  it('a reset with an error other than MUTAGEN_FORWARD_DIAL fails the endpoint', async () => {
    const agent = fakeAgent(honest);
    answerDials(agent.server, (stream) => stream.destroy(new MutagenError('MUTAGEN_INTERNAL', 'the dialer crashed')));
    const destination = await connectRemoteDestination(agent.client, request, { logger: silentLogger }, timeout());
    expect(await outcome(destination.dial(timeout()))).toBe('MUTAGEN_INTERNAL: remote dial failure: the dialer crashed');
    expect((await destination.failure).message).toBe('remote dial failure: the dialer crashed');
  });

  it('a stream opened by the agent of a destination is a protocol error', async () => {
    const agent = fakeAgent(honest);
    const destination = await connectRemoteDestination(agent.client, request, { logger: silentLogger }, timeout());
    agent.server.open().write('surprise');
    const failure = await destination.failure;
    expect([failure.code, failure.message]).toEqual(['MUTAGEN_PROTOCOL', 'unexpected stream 2 from agent (destination endpoint)']);
  });

  it('an unknown event, or a malformed listener failure, is a protocol error', async () => {
    const unknown = fakeAgent(honest);
    const source = await connectRemoteSource(unknown.client, request, { logger: silentLogger }, timeout());
    (await unknown.channel).event('gossip', {});
    expect((await source.failure).message).toBe('unexpected event "gossip" from agent');

    const malformed = fakeAgent(honest);
    const other = await connectRemoteSource(malformed.client, request, { logger: silentLogger }, timeout());
    (await malformed.channel).event('failed', { code: 42 });
    expect((await other.failure).message).toBe('invalid listener failure event from agent');
  });

  it("the agent's listener failure event fails the source with its code; accept rejects with it", async () => {
    const agent = fakeAgent(honest);
    const source = await connectRemoteSource(agent.client, request, { logger: silentLogger }, timeout());
    const pending = outcome(source.accept(timeout()));
    (await agent.channel).event('failed', { code: 'MUTAGEN_FORWARD_LISTEN', message: 'accept: too many open files', hint: 'Raise ulimit -n.' });
    const failure = await source.failure;
    expect([failure.code, failure.message, failure.hint]).toEqual(['MUTAGEN_FORWARD_LISTEN', 'remote listener failure: accept: too many open files', 'Raise ulimit -n.']);
    expect(await pending).toBe('MUTAGEN_FORWARD_LISTEN: remote listener failure: accept: too many open files');
  });

  it('an initialize that never answers is cancelled by the signal, and everything is closed', async () => {
    const agent = fakeAgent((method) => (method === 'shutdown' ? Promise.resolve(null) : new Promise(() => undefined)));
    let closed = false;
    const controller = new AbortController();
    const connecting = outcome(connectRemoteSource(agent.client, request, { logger: silentLogger, owned: { close: () => { closed = true; } } }, controller.signal));
    controller.abort();
    expect(await connecting).toBe('MUTAGEN_CANCELLED: operation cancelled');
    expect(closed).toBe(true);
  });
});
