import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration } from '../../../src/model/configuration.js';
import { RemoteEndpoint, type RemoteConnectRequest } from '../../../src/sync/remote/client.js';
import { encodeConnect } from '../../../src/sync/remote/messages.js';
import { serveSyncEndpoint } from '../../../src/sync/remote/server.js';
import { Channel, type RequestHandler } from '../../../src/wire/channel.js';
import { MessageWriter } from '../../../src/wire/messages.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { createWorkspace, type Workspace } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { carrierPair } from '../../helpers/remote-loop.js';

const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), { ...emptySyncConfiguration(), watch: { mode: 'no-watch' } });

function request(root: string): RemoteConnectRequest {
  return { sessionId: 'sync_test', side: 'beta', root, configuration, readOnly: false };
}

/** A connected pair of multiplexers over an in-memory pipe. */
function pair(): { client: Multiplexer; server: Multiplexer; cut: () => void } {
  const pipe = carrierPair();
  return {
    client: new Multiplexer(pipe.client, { role: 'client' }),
    server: new Multiplexer(pipe.server, { role: 'server' }),
    cut: () => pipe.destroy(new Error('link cut by the test')),
  };
}

/** An agent that answers with whatever `handler` says (for lies), until the connection ends. */
async function fakeAgent(mux: Multiplexer, answer: (method: string) => unknown): Promise<void> {
  const stream = await mux.accept(AbortSignal.timeout(10_000));
  const handler: RequestHandler = (method) => Promise.resolve(answer(method));
  const channel = new Channel(stream, { handler });
  await Promise.race([channel.closed, mux.closed]);
  await channel.close();
  await mux.close();
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof MutagenError ? `${error.code}: ${error.message}` : `not a MutagenError: ${String(error)}`;
  }
  return 'resolved';
}

const digest = new Uint8Array(20);
const snapshotOf = (content: unknown): unknown => ({
  sequence: 1, base: null, replacements: [['', content]], nodes: 2, preservesExecutability: true, decomposesUnicode: false,
  directories: 1, files: 1, symbolicLinks: 0, totalFileSize: 1,
});

describe('RemoteEndpoint against a lying agent', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await createWorkspace('mutagen-endpoint-'); });
  afterEach(async () => { await ws.dispose(); });

  const lies: [string, unknown, RegExp][] = [
    ['a ".." name', snapshotOf([0, ['..', [2, digest, false]]]), /invalid snapshot from agent: dot name/],
    ['a name with a separator', snapshotOf([0, ['a/b', [2, digest, false]]]), /invalid snapshot from agent: content name contains path separator/],
    ['a short digest', snapshotOf([0, ['a', [2, new Uint8Array(19), false]]]), /invalid snapshot from agent: file digest has 19 bytes, expected 20/],
    ['an inconsistent full snapshot', { ...(snapshotOf([0, ['a', [4]]]) as object), nodes: 5 }, /invalid snapshot from agent: entry count/],
  ];

  it.each(lies)('scan with %s fails with MUTAGEN_PROTOCOL and drops the connection', async (_name, snapshot, message) => {
    const { client, server } = pair();
    let closed = false;
    const agent = fakeAgent(server, (method) => {
      if (method === 'connect') return { root: '/' };
      if (method === 'scan' || method === 'resend-snapshot') return method === 'scan' ? { kind: 'snapshot', snapshot } : snapshot;
      return null;
    });
    const endpoint = await RemoteEndpoint.connect(client, request('/'), { logger: silentLogger, owned: { close: () => { closed = true; } } }, AbortSignal.timeout(10_000));
    const result = await codeOf(endpoint.scan({ full: false }, AbortSignal.timeout(10_000)));
    expect(result).toMatch(/^MUTAGEN_PROTOCOL: /);
    expect(result).toMatch(message);
    // The connection is gone: the next call fails the same way, the agent side ended.
    expect(await codeOf(endpoint.poll(AbortSignal.timeout(10_000)))).toBe(result);
    await agent;
    await endpoint.shutdown();
    expect(closed).toBe(true);
  });

  it('rejects stage plans that are not an ordered subset and transition results of the wrong length', async () => {
    const { client, server } = pair();
    const agent = fakeAgent(server, (method) => {
      if (method === 'connect') return { root: '/' };
      if (method === 'stage') return { paths: ['b', 'a'], signatures: [[0, 0, [], new Uint8Array(0)], [0, 0, [], new Uint8Array(0)]] };
      return null;
    });
    const endpoint = await RemoteEndpoint.connect(client, request('/'), { logger: silentLogger }, AbortSignal.timeout(10_000));
    const files = [{ path: 'a', digest }, { path: 'b', digest }];
    expect(await codeOf(endpoint.stage(files, AbortSignal.timeout(10_000)))).toMatch(/^MUTAGEN_PROTOCOL: invalid stage result from agent: path "a" is not an ordered subset/);
    await agent;
    await endpoint.shutdown();

    const second = pair();
    const agent2 = fakeAgent(second.server, (method) => (method === 'connect' ? { root: '/' } : { results: [], problems: [], missingStagedFiles: false }));
    const endpoint2 = await RemoteEndpoint.connect(second.client, request('/'), { logger: silentLogger }, AbortSignal.timeout(10_000));
    const change = { path: 'a', old: undefined, new: { kind: 'untracked' as const } };
    expect(await codeOf(endpoint2.transition([change], AbortSignal.timeout(10_000)))).toBe('MUTAGEN_PROTOCOL: invalid transition result from agent: 0 results for 1 changes');
    await agent2;
    await endpoint2.shutdown();
  });

  it('takes a quiet answer that is not a boolean as a violation: not quiet, connection dropped', async () => {
    const { client, server } = pair();
    let closed = false;
    const agent = fakeAgent(server, (method) => (method === 'connect' ? { root: '/' } : method === 'quiet' ? 'yes' : null));
    const endpoint = await RemoteEndpoint.connect(client, request('/'), { logger: silentLogger, owned: { close: () => { closed = true; } } }, AbortSignal.timeout(10_000));
    expect(await endpoint.quietSinceScan(AbortSignal.timeout(10_000))).toBe(false);
    expect(await codeOf(endpoint.scan({ full: false }, AbortSignal.timeout(10_000)))).toMatch(/^MUTAGEN_PROTOCOL: invalid quiet result from agent/);
    await eventually(() => expect(closed).toBe(true));
    await endpoint.shutdown();
    await agent;
  });

  it('rejects oversized data operations in a supplied transfer', async () => {
    const { client, server } = pair();
    const agent = fakeAgent(server, () => ({ root: '/' }));
    // The agent side of a transfer stream is driven by hand here: a 70 KiB data operation.
    const handled = (async () => {
      const stream = await server.accept(AbortSignal.timeout(10_000));
      await new MessageWriter(stream).write([0, new Uint8Array(70_000), null]);
    })();
    const endpoint = await RemoteEndpoint.connect(client, request('/'), { logger: silentLogger }, AbortSignal.timeout(10_000));
    const written: unknown[] = [];
    const receiver = { write: (t: unknown) => { written.push(t); return Promise.resolve(); }, finish: () => Promise.resolve() };
    const result = await codeOf(endpoint.supply({ paths: ['a'], signatures: [{ blockSize: 0, lastBlockSize: 0, hashes: [] }] }, receiver, AbortSignal.timeout(10_000)));
    expect(result).toMatch(/^MUTAGEN_PROTOCOL: /);
    expect(written).toEqual([]);
    await handled.catch(() => undefined);
    await agent;
    await endpoint.shutdown();
  });
});

describe('RemoteEndpoint <-> serveSyncEndpoint', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await createWorkspace('mutagen-endpoint-'); });
  afterEach(async () => { await ws.dispose(); });

  function serve(server: Multiplexer, signal = AbortSignal.timeout(60_000)): Promise<void> {
    return serveSyncEndpoint(server, { dataDirectory: ws.data, homeDirectory: ws.base, logger: silentLogger }, signal);
  }

  it('a cut link rejects the pending call with MUTAGEN_TRANSPORT, and every later call too', async () => {
    const { client, server, cut } = pair();
    const served = serve(server);
    await mkdir(ws.alpha);
    const endpoint = await RemoteEndpoint.connect(client, request('alpha'), { logger: silentLogger }, AbortSignal.timeout(10_000));
    const polling = codeOf(endpoint.poll(AbortSignal.timeout(30_000)));
    cut();
    expect(await polling).toMatch(/^MUTAGEN_TRANSPORT: connection to agent lost: /);
    expect(await codeOf(endpoint.scan({ full: false }, AbortSignal.timeout(10_000)))).toMatch(/^MUTAGEN_TRANSPORT: connection to agent lost: /);
    await served;
    await endpoint.shutdown();
  });

  it('shutdown makes a pending call reject promptly, and the agent shuts its endpoint down', async () => {
    const { client, server } = pair();
    const served = serve(server);
    await mkdir(ws.alpha);
    await writeFile(path.join(ws.alpha, 'f'), 'x');
    const endpoint = await RemoteEndpoint.connect(client, request(ws.alpha), { logger: silentLogger }, AbortSignal.timeout(10_000));
    const scan = await endpoint.scan({ full: false }, AbortSignal.timeout(10_000));
    expect(scan.kind === 'snapshot' && scan.snapshot.files).toBe(1);
    const polling = codeOf(endpoint.poll(AbortSignal.timeout(30_000)));
    await endpoint.shutdown();
    expect(await polling).toMatch(/^MUTAGEN_CANCELLED: /);
    await served;
    // The agent keeps its scan cache under its data directory (the first save runs in the background).
    await eventually(async () => expect(await readdir(path.join(ws.data, 'caches'))).toEqual(['sync_test_beta']));
    await endpoint.shutdown();
  });

  it('the server answers overlapping calls with an error and keeps serving', async () => {
    const { client, server } = pair();
    const served = serve(server);
    await mkdir(ws.alpha);
    const channel = new Channel(client.open(), {});
    const signal = AbortSignal.timeout(10_000);
    expect(await channel.request('connect', encodeConnect(request(ws.alpha)), signal)).toEqual({ root: ws.alpha });
    const poll = new AbortController();
    const polling = codeOf(channel.request('poll', null, poll.signal));
    expect(await codeOf(channel.request('scan', { full: false, have: null }, signal))).toMatch(/^MUTAGEN_PROTOCOL: overlapping endpoint calls/);
    expect(await codeOf(channel.request('connect', encodeConnect(request(ws.alpha)), signal))).toMatch(/^MUTAGEN_PROTOCOL: /);
    poll.abort();
    expect(await polling).toMatch(/^MUTAGEN_CANCELLED/);
    // After the cancel, the next call runs.
    const scan = await channel.request('scan', { full: false, have: null }, signal);
    expect(scan).toMatchObject({ kind: 'snapshot', snapshot: { base: null, directories: 1 } });
    expect(await codeOf(channel.request('stage', { files: [['../escape', digest]] }, signal))).toMatch(/^MUTAGEN_PROTOCOL: invalid stage request from daemon: /);
    expect(await codeOf(channel.request('no-such-method', null, signal))).toMatch(/^MUTAGEN_PROTOCOL: unknown method/);
    await channel.close();
    await served;
    await client.close();
  });

  it('answers quiet as a side request while another call runs: true until something changes', async () => {
    const { client, server } = pair();
    const served = serve(server);
    await mkdir(ws.alpha);
    await writeFile(path.join(ws.alpha, 'f'), 'x');
    const watching = { ...request(ws.alpha), configuration: resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration()) };
    const endpoint = await RemoteEndpoint.connect(client, watching, { logger: silentLogger }, AbortSignal.timeout(10_000));
    const signal = AbortSignal.timeout(20_000);
    const scan = await endpoint.scan({ full: false }, signal);
    expect(scan.kind === 'snapshot' && scan.snapshot.files).toBe(1);
    const polling = endpoint.poll(signal);
    expect(await endpoint.quietSinceScan(signal)).toBe(true);
    await writeFile(path.join(ws.alpha, 'g'), 'y');
    await eventually(async () => expect(await endpoint.quietSinceScan(signal)).toBe(false));
    await polling;
    await endpoint.shutdown();
    await served;
  });

  it('an unknown root form is refused with a hint', async () => {
    const { client, server } = pair();
    const served = serve(server);
    const result = await codeOf(RemoteEndpoint.connect(client, request('~other/x'), { logger: silentLogger }, AbortSignal.timeout(10_000)));
    expect(result).toMatch(/^MUTAGEN_ENDPOINT: unable to resolve "~other\/x"/);
    await served;
  });
});
