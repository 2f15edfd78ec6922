import { stat } from 'node:fs/promises';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { DaemonClient, DaemonError } from '../../../src/daemon/client.js';
import { encodeFrame, FrameDecoder, MAX_MESSAGE_SIZE } from '../../../src/daemon/framing.js';
import { silentLogger } from '../../../src/base/logger.js';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { daemonPaths } from '../../../src/daemon/paths.js';
import { ForwardManager } from '../../../src/forward/manager.js';
import { emptyForwardConfiguration, emptySyncConfiguration } from '../../../src/model/configuration.js';
import type { ForwardSpec, SyncSpec } from '../../../src/model/session.js';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { InMemorySyncService } from '../../helpers/sync-service-double.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';

const tempDirectory = useTempDirectories();
const signal = new AbortController().signal;

function spec(name: string, labels: Record<string, string> = {}): SyncSpec {
  return {
    name,
    labels,
    alpha: { kind: 'sync', protocol: 'local', path: '/tmp/alpha' },
    beta: { kind: 'sync', protocol: 'local', path: '/tmp/beta' },
    configuration: emptySyncConfiguration(),
    configurationAlpha: emptySyncConfiguration(),
    configurationBeta: emptySyncConfiguration(),
  };
}

async function withDaemon(test: (daemon: TestDaemon) => Promise<void>): Promise<void> {
  const daemon = await startTestDaemon(await tempDirectory());
  try {
    await test(daemon);
  } finally {
    await daemon.close();
  }
}

/** A raw connection that sends bytes and collects decoded replies. */
async function rawConnection(socketPath: string): Promise<{ socket: net.Socket; replies: unknown[]; closed: Promise<void> }> {
  const socket = net.createConnection(socketPath);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const decoder = new FrameDecoder();
  const replies: unknown[] = [];
  socket.on('data', (chunk: Buffer) => { for (const body of decoder.push(chunk)) replies.push(JSON.parse(body)); });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, replies, closed };
}

function lengthPrefixed(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

describe('daemon RPC', () => {
  it('creates the data directory 0700 and the socket 0600', async () => {
    await withDaemon(async ({ paths }) => {
      expect((await stat(paths.dataDirectory)).mode & 0o777).toBe(0o700);
      expect((await stat(paths.daemonDirectory)).mode & 0o777).toBe(0o700);
      const socket = await stat(paths.socket);
      expect(socket.isSocket()).toBe(true);
      expect(socket.mode & 0o777).toBe(0o600);
    });
  });

  it('answers calls with results that round-trip through the schemas', async () => {
    await withDaemon(async ({ paths, service }) => {
      const client = await DaemonClient.dial(paths.socket, signal);
      const version = await client.call('daemon.version', {}, { signal });
      expect(version).toEqual({ version: expect.any(String), pid: process.pid });
      const { id } = await client.call('sync.create', { spec: spec('web', { fixture: 'conflicts' }), paused: false }, { signal });
      expect(id).toMatch(/^sync_[0-9a-zA-Z]{43}$/);
      const { sessions, stateIndex } = await client.call('sync.list', { selection: {} }, { signal });
      expect(stateIndex).toBeGreaterThan(0);
      expect(sessions).toHaveLength(1);
      const [state] = sessions;
      expect(state?.session.name).toBe('web');
      expect(state?.lastError).toBe('unable to connect to beta: connection refused');
      expect(state?.conflicts[1]?.alphaChanges[0]?.new).toEqual({ kind: 'file', digest: new Uint8Array([0, 0x22]), executable: true });
      expect(state?.conflicts[0]?.alphaChanges[0]?.new).toEqual({ kind: 'directory', contents: new Map() });
      expect(state?.alpha.scanProblems).toEqual([{ path: '', error: 'root problem' }, { path: 'bad\rname', error: 'unable to read' }]);
      expect(service.calls).toEqual(['create', 'list']);
      client.close();
    });
  });

  it('relays status lines and prompts of a call to its client', async () => {
    await withDaemon(async ({ paths }) => {
      const client = await DaemonClient.dial(paths.socket, signal);
      const statuses: string[] = [];
      const questions: string[] = [];
      await client.call('sync.create', { spec: spec('asked', { prompt: 'continue (yes/no)? ' }), paused: true }, {
        signal,
        onStatus: (message) => statuses.push(message),
        prompter: { prompt: (request) => { questions.push(`${request.kind}:${request.message}`); return Promise.resolve('yes'); } },
      });
      expect(statuses).toEqual(['Creating session...']);
      expect(questions).toEqual(['echo:continue (yes/no)? ']);
      const { sessions } = await client.call('sync.list', { selection: { specifications: ['asked'] } }, { signal });
      expect(sessions[0]?.session.labels['answer']).toBe('yes');
      client.close();
    });
  });

  it('returns MutagenErrors with code, message chain and hint', async () => {
    await withDaemon(async ({ paths }) => {
      const client = await DaemonClient.dial(paths.socket, signal);
      const failure = await client.call('sync.create', { spec: spec('x', { fail: 'connection refused' }), paused: false }, { signal }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DaemonError);
      expect(failure).toMatchObject({ code: 'MUTAGEN_ENDPOINT', message: 'unable to connect to beta: connection refused', hint: 'Check the beta URL.' });
      const missing = await client.call('sync.pause', { selection: { specifications: ['nope'] } }, { signal }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'MUTAGEN_NOT_FOUND', message: 'unable to locate requested sessions: specification "nope" did not match any sessions' });
      // This daemon was started without a forward service.
      const forward = await client.call('forward.list', { selection: {} }, { signal }).catch((e: unknown) => e);
      expect(forward).toMatchObject({ code: 'MUTAGEN_UNSUPPORTED' });
      client.close();
    });
  });

  it('decodes messages split into single bytes and several messages in one chunk', async () => {
    await withDaemon(async ({ paths }) => {
      const { socket, replies } = await rawConnection(paths.socket);
      const bytes = encodeFrame({ jsonrpc: '2.0', id: 1, method: 'daemon.version', params: {} });
      for (const byte of bytes) socket.write(Buffer.from([byte]));
      await eventually(() => expect(replies).toHaveLength(1));
      socket.write(Buffer.concat([
        encodeFrame({ jsonrpc: '2.0', id: 2, method: 'daemon.version' }),
        encodeFrame({ jsonrpc: '2.0', id: 3, method: 'daemon.version', params: {} }),
      ]));
      await eventually(() => expect(replies).toHaveLength(3));
      expect(replies.map((r) => (r as { id: number }).id).sort()).toEqual([1, 2, 3]);
      socket.destroy();
    });
  });

  it('answers bad messages with JSON-RPC errors and keeps the connection usable', async () => {
    await withDaemon(async ({ paths }) => {
      const { socket, replies } = await rawConnection(paths.socket);
      socket.write(lengthPrefixed(Buffer.from('{not json')));
      socket.write(encodeFrame({ hello: 'world' }));
      socket.write(encodeFrame({ jsonrpc: '2.0', id: 7, method: 'no.such.method', params: {} }));
      socket.write(encodeFrame({ jsonrpc: '2.0', id: 8, method: 'sync.flush', params: { selection: {}, skipWait: 'yes' } }));
      socket.write(encodeFrame({ jsonrpc: '2.0', id: 9, method: 'daemon.version', params: {} }));
      await eventually(() => expect(replies).toHaveLength(5));
      expect(replies.slice(0, 4)).toMatchObject([
        { id: null, error: { code: -32700, data: { code: 'MUTAGEN_PROTOCOL' } } },
        { id: null, error: { code: -32600 } },
        { id: 7, error: { code: -32601, message: 'unknown method: no.such.method' } },
        { id: 8, error: { code: -32602, data: { code: 'MUTAGEN_PROTOCOL' } } },
      ]);
      expect(replies[4]).toMatchObject({ id: 9, result: { pid: process.pid } });
      socket.destroy();
    });
  });

  it('refuses an oversized frame, closes only that connection and keeps serving', async () => {
    await withDaemon(async ({ paths }) => {
      const { socket, replies, closed } = await rawConnection(paths.socket);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(MAX_MESSAGE_SIZE + 1);
      socket.write(header);
      await closed;
      expect(replies).toMatchObject([{ id: null, error: { code: -32700, message: expect.stringContaining('message too large') as string } }]);
      const client = await DaemonClient.dial(paths.socket, signal);
      await expect(client.call('daemon.version', {}, { signal })).resolves.toMatchObject({ pid: process.pid });
      client.close();
    });
  });

  it('survives garbage and abrupt disconnects from many clients', async () => {
    await withDaemon(async ({ paths }) => {
      for (let i = 0; i < 20; i++) {
        const { socket } = await rawConnection(paths.socket);
        socket.write(Buffer.from([0, 0, 0, 5, 0xff, 0xfe]));
        socket.destroy();
      }
      const client = await DaemonClient.dial(paths.socket, signal);
      await expect(client.call('daemon.version', {}, { signal })).resolves.toMatchObject({ pid: process.pid });
      client.close();
    });
  });

  it('cancels a long poll on $/cancel and when the client disconnects', async () => {
    await withDaemon(async ({ paths, service }) => {
      const client = await DaemonClient.dial(paths.socket, signal);
      const { stateIndex } = await client.call('sync.list', { selection: {} }, { signal });
      const controller = new AbortController();
      const poll = client.call('sync.list', { selection: {}, sinceIndex: stateIndex }, { signal: controller.signal });
      await eventually(() => expect(service.calls).toEqual(['list', 'list']));
      controller.abort();
      await expect(poll).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
      await eventually(() => expect(service.aborted).toEqual(['list']));

      const second = await DaemonClient.dial(paths.socket, signal);
      const orphan = second.call('sync.list', { selection: {}, sinceIndex: stateIndex }, { signal });
      await eventually(() => expect(service.calls).toHaveLength(3));
      second.close();
      await expect(orphan).rejects.toBeInstanceOf(MutagenError);
      await eventually(() => expect(service.aborted).toEqual(['list', 'list']));

      const woken = client.call('sync.list', { selection: {}, sinceIndex: stateIndex }, { signal });
      await client.call('sync.create', { spec: spec('wake'), paused: true }, { signal });
      await expect(woken).resolves.toMatchObject({ sessions: [{ session: { name: 'wake' } }] });
      client.close();
    });
  });

  it('serves concurrent clients', async () => {
    await withDaemon(async ({ paths }) => {
      const clients = await Promise.all(Array.from({ length: 8 }, () => DaemonClient.dial(paths.socket, signal)));
      await Promise.all(clients.flatMap((client, i) =>
        Array.from({ length: 5 }, (_, j) => client.call('sync.create', { spec: spec(`s${i}x${j}`), paused: true }, { signal }))));
      const { sessions } = await clients[0]!.call('sync.list', { selection: {} }, { signal });
      expect(sessions).toHaveLength(40);
      expect(new Set(sessions.map((s) => s.session.id)).size).toBe(40);
      for (const client of clients) client.close();
    });
  });

  it('rejects pending calls when the daemon goes away', async () => {
    const daemon = await startTestDaemon(await tempDirectory());
    const client = await DaemonClient.dial(daemon.paths.socket, signal);
    const { stateIndex } = await client.call('sync.list', { selection: {} }, { signal });
    const poll = expect(client.call('sync.list', { selection: {}, sinceIndex: stateIndex }, { signal })).rejects.toBeInstanceOf(MutagenError);
    await eventually(() => expect(daemon.service.calls).toEqual(['list', 'list']));
    await daemon.close();
    await poll;
    expect(daemon.service.closed).toBe(true);
  });

  it('serves forward.* from the forward service it was given', async () => {
    const directory = await tempDirectory();
    const paths = daemonPaths(directory);
    const daemon = await startDaemon({
      paths,
      logger: silentLogger,
      createSync: () => Promise.resolve(new InMemorySyncService()),
      createForward: async () => {
        const manager = new ForwardManager({ dataDirectory: directory, logger: silentLogger, version: '0.1.0-test' });
        await manager.initialize();
        return manager;
      },
    });
    try {
      const client = await DaemonClient.dial(paths.socket, signal);
      const forwardSpec: ForwardSpec = {
        name: 'db',
        labels: { tier: 'data' },
        source: { kind: 'forward', protocol: 'local', path: `unix:${directory}/db.sock` },
        destination: { kind: 'forward', protocol: 'local', path: 'tcp:127.0.0.1:5432' },
        configuration: { socket: { permissionMode: 0o660 } },
        configurationSource: emptyForwardConfiguration(),
        configurationDestination: emptyForwardConfiguration(),
      };
      const { id } = await client.call('forward.create', { spec: forwardSpec, paused: true }, { signal });
      expect(id).toMatch(/^fwrd_[0-9a-zA-Z]{43}$/);
      const listed = await client.call('forward.list', { selection: { labelSelector: 'tier=data' } }, { signal });
      expect(listed.sessions).toEqual([{
        session: expect.objectContaining({ id, name: 'db', paused: true, configuration: { socket: { permissionMode: 0o660 } } }) as unknown,
        status: 'disconnected', lastError: undefined, sourceConnected: false, destinationConnected: false,
        openConnections: 0, totalConnections: 0, droppedConnections: 0, totalOutboundData: 0, totalInboundData: 0,
      }]);
      await client.call('forward.update', { id, spec: { ...forwardSpec, labels: { tier: 'cache' } } }, { signal });
      expect(await client.call('forward.resume', { selection: { labelSelector: 'tier=cache' } }, { signal })).toEqual({ affected: [id] });
      const running = await client.call('forward.list', { selection: { specifications: ['db'] } }, { signal });
      expect(running.sessions[0]).toMatchObject({ status: 'forwarding', sourceConnected: true, session: { paused: false } });
      expect((await stat(`${directory}/db.sock`)).mode & 0o777).toBe(0o660);
      expect(await client.call('forward.pause', { selection: { all: true } }, { signal })).toEqual({ affected: [id] });
      expect(await client.call('forward.terminate', { selection: { specifications: [id] } }, { signal })).toEqual({ affected: [id] });
      const missing = await client.call('forward.pause', { selection: { specifications: ['db'] } }, { signal }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'MUTAGEN_NOT_FOUND', message: 'unable to locate requested sessions: specification "db" did not match any sessions' });
      const invalid = await client.call('forward.create', { spec: { ...forwardSpec, source: { kind: 'forward', protocol: 'local', path: 'tcp:127.0.0.1:x' } }, paused: true }, { signal })
        .catch((e: unknown) => e);
      expect(invalid).toMatchObject({ code: 'MUTAGEN_INVALID_URL', message: expect.stringContaining('unable to parse source URL: ') as string });
      client.close();
    } finally {
      await daemon.close();
    }
  });
});
