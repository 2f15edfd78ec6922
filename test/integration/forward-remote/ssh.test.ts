import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import type { RemoteEndpoints } from '../../../src/daemon/remote.js';
import type { EndpointUrl } from '../../../src/model/url.js';
import { eventually } from '../../helpers/eventually.js';
import { describeWithSshd, SSH_TEST_HOST, sshTestHome } from '../../helpers/sshd.js';
import {
  answerAfterEnd, connectTcp, digestOf, echo, freePort, readAll, rejection, tcpServer, useForwardRemote, writeRandom,
} from './fixture.js';

const MIB = 1024 * 1024;
const signal = (): AbortSignal => AbortSignal.timeout(90_000);

function sshUrl(endpoint: string): EndpointUrl {
  return { kind: 'forward', protocol: 'ssh', host: SSH_TEST_HOST, path: endpoint };
}

/** Pids of forwarder agents installed under `dataDirectory` (the test sshd's remote data directory). */
async function forwarderPids(dataDirectory: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes('forwarder') && argv.some((arg) => arg.startsWith(dataDirectory) && arg.endsWith('agent.mjs'))) found.push(Number(name));
  }
  return found;
}

describeWithSshd('forwarding endpoints on an SSH host (agent in forwarder mode over real sshd)', (sshd) => {
  const fixture = useForwardRemote();
  let remote: RemoteEndpoints;

  beforeEach(async () => {
    const home = await sshTestHome(sshd, { makeDirectory: fixture.temp });
    remote = await fixture.remote(home.home);
  });

  it('remote destination: the agent dials a loopback target; 64 MiB each way arrive byte-identical', async () => {
    const target = await tcpServer(echo);
    fixture.defer(() => target.close());
    const destination = fixture.track(await remote.forward.destination(fixture.request(sshUrl(`tcp:127.0.0.1:${target.port}`)), signal()));
    const stream = await destination.dial(signal());
    const [sent, received] = await Promise.all([writeRandom(stream, 64 * MIB), digestOf(stream)]);
    expect(received).toEqual({ bytes: 64 * MIB, sha256: sent });
  });

  it('remote destination: 200 concurrent connections each get their own answer, after half-closing', async () => {
    const target = await tcpServer(answerAfterEnd('seen:'));
    fixture.defer(() => target.close());
    const destination = fixture.track(await remote.forward.destination(fixture.request(sshUrl(`tcp:127.0.0.1:${target.port}`)), signal()));
    const answers = await Promise.all(Array.from({ length: 200 }, async (_, index) => {
      const stream = await destination.dial(signal());
      stream.end(`connection ${index}`);
      return (await readAll(stream)).toString();
    }));
    expect(answers).toEqual(Array.from({ length: 200 }, (_, index) => `seen:connection ${index}`));
  });

  it('remote destination: a refused target drops that connection (MUTAGEN_FORWARD_DIAL); the endpoint keeps serving', async () => {
    const port = await freePort();
    const destination = fixture.track(await remote.forward.destination(fixture.request(sshUrl(`tcp:127.0.0.1:${port}`)), signal()));
    const refused = await rejection(destination.dial(signal()));
    expect(refused.code).toBe('MUTAGEN_FORWARD_DIAL');
    const target = net.createServer(answerAfterEnd('late:'));
    target.listen(port, '127.0.0.1');
    fixture.defer(() => new Promise<void>((resolve) => target.close(() => resolve())));
    const stream = await eventually(() => destination.dial(signal()));
    stream.end('hello');
    expect((await readAll(stream)).toString()).toBe('late:hello');
  });

  it('remote source on TCP: the agent listens on 127.0.0.1; 200 concurrent clients are accepted by the daemon side, half-close both ways', async () => {
    const port = await freePort();
    const source = fixture.track(await remote.forward.source(fixture.request(sshUrl(`tcp:127.0.0.1:${port}`)), signal()));
    // The daemon side answers each accepted stream after its EOF.
    const serving = (async () => {
      for (let served = 0; served < 200; served++) {
        const stream = await source.accept(signal());
        void readAll(stream).then((request) => stream.end(Buffer.concat([Buffer.from('ack:'), request])));
      }
    })();
    const answers = await Promise.all(Array.from({ length: 200 }, async (_, index) => {
      const socket = await connectTcp(port);
      socket.end(`client ${index}`);
      return (await readAll(socket)).toString();
    }));
    await serving;
    expect(answers).toEqual(Array.from({ length: 200 }, (_, index) => `ack:client ${index}`));
  });

  it('remote source on TCP: 64 MiB from a client reach the daemon side byte-identical', async () => {
    const port = await freePort();
    const source = fixture.track(await remote.forward.source(fixture.request(sshUrl(`tcp:127.0.0.1:${port}`)), signal()));
    const socket = await connectTcp(port);
    const accepted = await source.accept(signal());
    const [sent, received] = await Promise.all([writeRandom(socket, 64 * MIB), digestOf(accepted)]);
    expect(received).toEqual({ bytes: 64 * MIB, sha256: sent });
    accepted.end('done');
    expect((await readAll(socket)).toString()).toBe('done');
  });

  it('remote source on a Unix socket: bound with the permission mode asked for, removed at shutdown', async () => {
    const directory = await fixture.temp('mtfr-sock-');
    const socketPath = path.join(directory, 'remote.sock');
    const source = await remote.forward.source(fixture.request(sshUrl(`unix:${socketPath}`), { overwriteMode: 'leave', permissionMode: 0o640 }), signal());
    fixture.track(source);
    const info = await stat(socketPath);
    expect([info.isSocket(), (info.mode & 0o777).toString(8)]).toEqual([true, '640']);
    const client = net.createConnection(socketPath);
    client.end('over unix');
    const accepted = await source.accept(signal());
    expect((await readAll(accepted)).toString()).toBe('over unix');
    accepted.end('back over unix');
    expect((await readAll(client)).toString()).toBe('back over unix');
    await source.shutdown();
    await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
  });

  it('remote source bind failures fail the connect: port in use, existing file with overwrite mode "leave"', async () => {
    const busy = await tcpServer(() => undefined);
    fixture.defer(() => busy.close());
    const inUse = await rejection(remote.forward.source(fixture.request(sshUrl(`tcp:127.0.0.1:${busy.port}`)), signal()));
    expect(inUse.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(inUse.message).toMatch(/remote initialization failure: /);

    const directory = await fixture.temp('mtfr-sock-');
    const stale = path.join(directory, 'stale.sock');
    await writeFile(stale, 'in the way');
    const exists = await rejection(remote.forward.source(fixture.request(sshUrl(`unix:${stale}`)), signal()));
    expect(exists.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(exists.message).toMatch(/remote initialization failure: /);
    // With overwrite mode "overwrite" the same path binds.
    const source = await remote.forward.source(fixture.request(sshUrl(`unix:${stale}`), { overwriteMode: 'overwrite', permissionMode: 0o600 }), signal());
    fixture.track(source);
    expect((await stat(stale)).isSocket()).toBe(true);
  });

  it('a killed agent fails the source with MUTAGEN_TRANSPORT (agent connection lost); carried connections end and the port is released', async () => {
    const port = await freePort();
    const before = new Set(await forwarderPids(sshd.remoteDataDirectory));
    const source = fixture.track(await remote.forward.source(fixture.request(sshUrl(`tcp:127.0.0.1:${port}`)), signal()));
    const agents = (await forwarderPids(sshd.remoteDataDirectory)).filter((pid) => !before.has(pid));
    expect(agents).toHaveLength(1);
    const client = await connectTcp(port);
    const accepted = await source.accept(signal());
    const clientClosed = new Promise((resolve) => client.once('close', resolve));
    const acceptedClosed = new Promise((resolve) => accepted.once('close', resolve));
    process.kill(agents[0] ?? 0, 'SIGKILL');
    const failure = await source.failure;
    expect(failure.code).toBe('MUTAGEN_TRANSPORT');
    expect(failure.message).toMatch(/^connection to agent lost: /);
    expect((await rejection(source.accept(signal()))).message).toBe(failure.message);
    await Promise.all([clientClosed, acceptedClosed]);
    await eventually(async () => {
      const outcome = await connectTcp(port).then((socket) => { socket.destroy(); return 'connected'; }, (error: unknown) => String(error));
      expect(outcome).toMatch(/ECONNREFUSED/);
    });
  });
});
