import { existsSync } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  endpointOf, expectMutagenError, forwardSpec, freePort, roundTrip, signal, untilClosed, stateOf, useForwardTest, waitForState,
  type Address, type ForwardWorkspace,
} from './fixture.js';

const test = useForwardTest();

async function savedRecords(workspace: ForwardWorkspace): Promise<string[]> {
  return readdir(path.join(workspace.dataDirectory, 'forwarding', 'sessions'));
}

describe('forwarding failures', () => {
  it('drops connections to a refusing target, keeps forwarding, and carries later ones once it listens', async () => {
    const { manager } = await test.workspace();
    const targetPort = await freePort();
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), `tcp:127.0.0.1:${targetPort}`), { paused: false }, signal);
    for (let i = 0; i < 3; i++) {
      // The listener accepts, the dial fails, and only this connection is closed.
      expect(await untilClosed(listen, 'anyone there?')).toBe(0);
    }
    const dropped = await waitForState(manager, id, (s) => s.droppedConnections === 3 && s.openConnections === 0);
    expect(dropped).toMatchObject({ status: 'forwarding', totalConnections: 3, sourceConnected: true, destinationConnected: true });
    expect(dropped.lastError).toMatch(/ECONNREFUSED|refused/i);

    await test.server({ port: targetPort });
    expect((await roundTrip(listen, 'now?')).toString()).toBe('now?');
    const state = await waitForState(manager, id, (s) => s.totalConnections === 4 && s.openConnections === 0);
    expect(state).toMatchObject({ status: 'forwarding', droppedConnections: 3, totalOutboundData: 4, totalInboundData: 4 });
  });

  it('fails create with a clear error when the port is in use, and saves nothing', async () => {
    const workspace = await test.workspace();
    const busy = await test.server({});
    const failure = await expectMutagenError(
      workspace.manager.create(forwardSpec(endpointOf(busy.address), 'tcp:127.0.0.1:9'), { paused: false }, signal),
      'MUTAGEN_FORWARD_LISTEN', 'unable to connect to source: ',
    );
    expect(failure.message).toMatch(/in use|EADDRINUSE/i);
    expect(await savedRecords(workspace)).toEqual([]);
    expect((await workspace.manager.list({}, undefined, signal)).sessions).toEqual([]);
    // A paused create binds nothing, so the same spec is accepted and resume reports the bind error.
    const id = await workspace.manager.create(forwardSpec(endpointOf(busy.address), 'tcp:127.0.0.1:9'), { paused: true }, signal);
    await expectMutagenError(workspace.manager.resume({ specifications: [id] }, {}, signal), 'MUTAGEN_FORWARD_LISTEN', 'unable to connect to source: ');
    const retrying = await waitForState(workspace.manager, id, (s) => s.lastError !== undefined);
    expect(retrying.session.paused).toBe(false);
    expect(retrying.lastError).toContain('unable to connect to source: ');
  });

  it('fails create for a socket path in a missing directory', async () => {
    const workspace = await test.workspace();
    const target = await test.server({});
    const missing = path.join(workspace.base, 'no', 'such', 'dir', 'x.sock');
    await expectMutagenError(
      workspace.manager.create(forwardSpec(`unix:${missing}`, endpointOf(target.address)), { paused: false }, signal),
      'MUTAGEN_FORWARD_LISTEN', 'unable to connect to source: ',
    );
    expect(await savedRecords(workspace)).toEqual([]);
  });

  it('leaves an existing socket file alone by default and replaces it with overwrite', async () => {
    const workspace = await test.workspace();
    const target = await test.server({});
    const socketPath = path.join(workspace.base, 'taken.sock');
    // A stale socket: bound once, its server gone, the file left behind.
    const stale = net.createServer();
    await new Promise<void>((resolve) => stale.listen(socketPath, resolve));
    await new Promise<void>((resolve) => { stale.close(() => resolve()); });
    await writeFile(socketPath, 'not a socket');
    await expectMutagenError(
      workspace.manager.create(forwardSpec(`unix:${socketPath}`, endpointOf(target.address)), { paused: false }, signal),
      'MUTAGEN_FORWARD_LISTEN', 'unable to connect to source: ',
    );
    expect(await savedRecords(workspace)).toEqual([]);
    expect(existsSync(socketPath)).toBe(true);

    const id = await workspace.manager.create(forwardSpec(`unix:${socketPath}`, endpointOf(target.address), {
      configuration: { socket: { overwriteMode: 'overwrite', permissionMode: 0o640 } },
    }), { paused: false }, signal);
    expect((await stat(socketPath)).isSocket()).toBe(true);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o640);
    expect((await roundTrip({ path: socketPath }, 'replaced')).toString()).toBe('replaced');
    expect((await stateOf(workspace.manager, id)).status).toBe('forwarding');
  });

  it('rejects malformed and unsupported endpoints before binding anything', async () => {
    const workspace = await test.workspace();
    const create = (source: string, destination: string): Promise<unknown> =>
      workspace.manager.create(forwardSpec(source, destination), { paused: true }, signal);
    await expectMutagenError(create('npipe:\\\\.\\pipe\\x', 'tcp:127.0.0.1:80'), 'MUTAGEN_UNSUPPORTED', 'Windows named pipes not supported on POSIX systems');
    await expectMutagenError(create('tcp:127.0.0.1:99999', 'tcp:127.0.0.1:80'), 'MUTAGEN_INVALID_URL', 'unable to parse source URL: ');
    await expectMutagenError(create('tcp:127.0.0.1:8080', 'unix:relative.sock'), 'MUTAGEN_INVALID_URL', 'unable to parse destination URL: ');
    const remote = forwardSpec('tcp:127.0.0.1:8080', 'tcp:127.0.0.1:80');
    await expectMutagenError(
      workspace.manager.create({ ...remote, destination: { kind: 'forward', protocol: 'ssh', host: 'h', path: 'tcp:127.0.0.1:80' } }, { paused: true }, signal),
      'MUTAGEN_UNSUPPORTED', 'ssh forwarding endpoints are not available',
    );
    expect(await savedRecords(workspace)).toEqual([]);
  });
});
