import type { Duplex } from 'node:stream';
import { duplexPair } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { encodeFrame } from '../../../src/wire/frame.js';
import type { Hello } from '../../../src/wire/handshake.js';
import { AGENT_MAGIC, agentHandshake, CLIENT_MAGIC, clientHandshake } from '../../../src/wire/handshake.js';
import { encodeMessage } from '../../../src/wire/messages.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { carrierOf, readAll, text, writeRandom } from './pair.js';

const never = new AbortController().signal;
const hello: Hello = { version: '0.1.0', protocol: 1, digest: 'a'.repeat(64), compression: ['deflate', 'none'] };
const ends: Duplex[] = [];
afterEach(() => {
  for (const end of ends.splice(0)) end.destroy();
});

function pair(): [Duplex, Duplex] {
  const [a, b] = duplexPair();
  ends.push(a, b);
  return [a, b];
}

async function failure(promise: Promise<unknown>): Promise<MutagenError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MutagenError);
  return error as MutagenError;
}

describe('handshake', () => {
  it.each([
    ['deflate', ['deflate', 'none'], 'deflate'],
    ['deflate', ['none'], 'none'],
    ['none', ['deflate', 'none'], 'none'],
  ] as const)('negotiates compression (client prefers %s, agent offers %j) and carries a multiplexer', async (preferred, offered, chosen) => {
    const [clientEnd, agentEnd] = pair();
    const [client, agent] = await Promise.all([
      clientHandshake(carrierOf(clientEnd), hello, { preferred }, never),
      agentHandshake(carrierOf(agentEnd), { ...hello, compression: offered }, never),
    ]);
    expect(client.peer).toEqual({ ...hello, compression: offered });
    expect(agent.peer).toEqual({ ...hello, compression: [chosen] });
    expect(client.carrier.readable === clientEnd).toBe(chosen === 'none');
    const clientMux = new Multiplexer(client.carrier, { role: 'client' });
    const agentMux = new Multiplexer(agent.carrier, { role: 'server' });
    const stream = clientMux.open();
    const sent = writeRandom(stream, 3 * 1024 * 1024 + 17);
    const received = await readAll(await agentMux.accept(never));
    expect(received.sha256).toBe(await sent);
    // A lone small message is not stuck in the compressor.
    const back = agentMux.open();
    back.write('ping');
    const incoming = await clientMux.accept(never);
    const first = await new Promise<string>((resolve) => incoming.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    expect(first).toBe('ping');
    await Promise.all([clientMux.close(), agentMux.close()]);
  });

  it('keeps bytes that follow the hello in the same chunk for the multiplexer', async () => {
    const [clientEnd, raw] = pair();
    raw.write(Buffer.concat([
      AGENT_MAGIC, ...encodeMessage({ ...hello, compression: ['none'] }),
      encodeFrame({ stream: 2, type: 'open', payload: new Uint8Array(0) }),
      encodeFrame({ stream: 2, type: 'data', payload: Buffer.from('right after the hello') }),
      encodeFrame({ stream: 2, type: 'close', payload: new Uint8Array(0) }),
    ]));
    const { carrier } = await clientHandshake(carrierOf(clientEnd), hello, { preferred: 'deflate' }, never);
    const mux = new Multiplexer(carrier, { role: 'client' });
    const stream = await mux.accept(never);
    expect(stream.id).toBe(2);
    expect(await text(stream)).toBe('right after the hello');
    raw.resume();
    await mux.close();
  });

  it('quotes login-shell noise before the magic', async () => {
    const [clientEnd, raw] = pair();
    raw.write(Buffer.concat([Buffer.from('Welcome to "box"\n\u001b[0m'), AGENT_MAGIC, ...encodeMessage(hello)]));
    const error = await failure(clientHandshake(carrierOf(clientEnd), hello, { preferred: 'none' }, never));
    expect(error.code).toBe('MUTAGEN_AGENT');
    expect(error.message).toBe('unexpected output from the remote before the agent started: "Welcome to \\"box\\"\\n\\u001b[0m"');
    expect(error.hint).toMatch(/startup files/);
  });

  it('quotes at most 200 characters of noise, also when the agent never starts', async () => {
    const [clientEnd, raw] = pair();
    raw.end(`bash: node: command not found ${'x'.repeat(500)}`);
    const error = await failure(clientHandshake(carrierOf(clientEnd), hello, { preferred: 'none' }, never));
    expect(error.code).toBe('MUTAGEN_AGENT');
    const quoted = error.message.slice('unexpected output from the remote before the agent started: '.length);
    expect((JSON.parse(quoted) as string).length).toBe(200);
    expect(quoted.startsWith('"bash: node: command not found xxx')).toBe(true);
  });

  it('reports an agent that exits before the handshake', async () => {
    const [clientEnd, raw] = pair();
    raw.end();
    const error = await failure(clientHandshake(carrierOf(clientEnd), hello, { preferred: 'none' }, never));
    expect([error.code, error.message]).toEqual(['MUTAGEN_AGENT', 'agent exited before the handshake']);
    const [otherEnd, other] = pair();
    other.end(Buffer.concat([AGENT_MAGIC, Buffer.from([0, 0])]));
    const midway = await failure(clientHandshake(carrierOf(otherEnd), hello, { preferred: 'none' }, never));
    expect([midway.code, midway.message]).toEqual(['MUTAGEN_AGENT', 'agent exited before the handshake']);
  });

  it('reports a version or digest mismatch', async () => {
    const [clientEnd, agentEnd] = pair();
    void agentHandshake(carrierOf(agentEnd), { ...hello, version: '0.0.9' }, never).catch(() => undefined);
    const error = await failure(clientHandshake(carrierOf(clientEnd), hello, { preferred: 'none' }, never));
    expect(error.code).toBe('MUTAGEN_VERSION_MISMATCH');
    expect(error.message).toBe('agent version 0.0.9 (digest aaaaaaaaaaaa) does not match 0.1.0 (digest aaaaaaaaaaaa)');
    const [c2, a2] = pair();
    void agentHandshake(carrierOf(a2), { ...hello, digest: 'b'.repeat(64) }, never).catch(() => undefined);
    expect((await failure(clientHandshake(carrierOf(c2), hello, { preferred: 'none' }, never))).code).toBe('MUTAGEN_VERSION_MISMATCH');
  });

  it('rejects a malformed hello', async () => {
    const [clientEnd, raw] = pair();
    raw.write(Buffer.concat([AGENT_MAGIC, ...encodeMessage({ version: 1 })]));
    const error = await failure(clientHandshake(carrierOf(clientEnd), hello, { preferred: 'none' }, never));
    expect(error.code).toBe('MUTAGEN_PROTOCOL');
    expect(error.message).toMatch(/^malformed agent hello/);
  });

  it('times out through its signal', async () => {
    const [clientEnd] = pair();
    const abort = new AbortController();
    const pending = clientHandshake(carrierOf(clientEnd), hello, { preferred: 'none' }, abort.signal);
    abort.abort(new DOMException('the operation timed out', 'TimeoutError'));
    const error = await failure(pending);
    expect([error.code, error.message]).toEqual(['MUTAGEN_AGENT', 'timed out waiting for the agent handshake']);
    const other = new AbortController();
    const [end2] = pair();
    const cancelled = clientHandshake(carrierOf(end2), hello, { preferred: 'none' }, other.signal);
    other.abort();
    expect((await failure(cancelled)).code).toBe('MUTAGEN_CANCELLED');
  });

  it('agent side: refuses a compression it did not offer, and garbage instead of the client magic', async () => {
    const [agentEnd, raw] = pair();
    raw.write(Buffer.concat([CLIENT_MAGIC, ...encodeMessage({ ...hello, compression: ['deflate'] })]));
    const error = await failure(agentHandshake(carrierOf(agentEnd), { ...hello, compression: ['none'] }, never));
    expect(error.code).toBe('MUTAGEN_PROTOCOL');
    expect(error.message).toBe('the client chose compression [deflate], which does not match the offer [none]');
    const [end2, raw2] = pair();
    raw2.write('GET / HTTP/1.1\r\n');
    const garbage = await failure(agentHandshake(carrierOf(end2), hello, never));
    expect([garbage.code, garbage.message]).toEqual(['MUTAGEN_PROTOCOL', 'unexpected bytes from the client before the handshake: "GET / HTTP/1.1\\r\\n"']);
    const [end3, raw3] = pair();
    raw3.end();
    const closed = await failure(agentHandshake(carrierOf(end3), hello, never));
    expect([closed.code, closed.message]).toEqual(['MUTAGEN_TRANSPORT', 'connection closed before the handshake']);
  });
});
