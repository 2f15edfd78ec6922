import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import {
  connect, connectError, endpointOf, expectMutagenError, forwardSpec, freePort, roundTrip, signal, untilClosed, stateOf, useForwardTest, waitForState,
  type Address,
} from './fixture.js';

const test = useForwardTest();

// The agent side runs in-process over a pipe (ForwardLoop): the manager and controller see real
// remote endpoints (Multiplexer, Channel, serveForwardEndpoint) without ssh.
describe('forwarding through agent endpoints', () => {
  it('carries connections from a remote listener and to a remote target', async () => {
    const { manager, loop, base } = await test.workspace({ remote: true });
    const target = await test.server({});
    const reverse: Address = { port: await freePort() };
    const reverseId = await manager.create(forwardSpec(endpointOf(reverse), endpointOf(target.address), { remote: 'source' }), { paused: false }, signal);
    expect((await roundTrip(reverse, 'reverse forwarding')).toString()).toBe('reverse forwarding');

    // `unix:~/x.sock` on a remote resolves against its home.
    const unixTarget = await test.server({ path: path.join(base, 'home', 'remote.sock') });
    const listen: Address = { port: await freePort() };
    const forwardId = await manager.create(forwardSpec(endpointOf(listen), 'unix:~/remote.sock', { remote: 'destination' }), { paused: false }, signal);
    expect((await roundTrip(listen, 'to the remote socket')).toString()).toBe('to the remote socket');
    await waitForState(manager, reverseId, (s) => s.totalOutboundData === 18 && s.openConnections === 0);
    await waitForState(manager, forwardId, (s) => s.totalInboundData === 20 && s.openConnections === 0);
    expect(unixTarget.accepted).toBe(1);
    expect(loop?.requests.map((r) => r.url.protocol)).toEqual(['ssh', 'ssh']);
  });

  it('drops connections a remote target refuses and keeps forwarding', async () => {
    const { manager } = await test.workspace({ remote: true });
    const targetPort = await freePort();
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), `tcp:127.0.0.1:${targetPort}`, { remote: 'destination' }), { paused: false }, signal);
    expect(await untilClosed(listen, 'x')).toBe(0);
    const dropped = await waitForState(manager, id, (s) => s.droppedConnections === 1 && s.openConnections === 0);
    expect(dropped.status).toBe('forwarding');
    expect(dropped.lastError).toMatch(/refused/i);
    await test.server({ port: targetPort });
    expect((await roundTrip(listen, 'y')).toString()).toBe('y');
  });

  it('fails create with `remote initialization failure` when the remote port is in use', async () => {
    const workspace = await test.workspace({ remote: true });
    const busy = await test.server({});
    await expectMutagenError(
      workspace.manager.create(forwardSpec(endpointOf(busy.address), 'tcp:127.0.0.1:9', { remote: 'source' }), { paused: false }, signal),
      'MUTAGEN_FORWARD_LISTEN', 'unable to connect to source: remote initialization failure: ',
    );
    expect((await workspace.manager.list({}, undefined, signal)).sessions).toEqual([]);
    await eventually(() => expect(workspace.loop?.open).toBe(0));
  });

  it('on a lost agent connection: closes connections, resets counters, records the failure and reconnects', async () => {
    // Long enough that the second failure below surely comes within it.
    const { manager, loop } = await test.workspace({ remote: true, retryDelayMs: 3_000 });
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address), { remote: 'source' }), { paused: false }, signal);
    const held = await connect(listen);
    held.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => {
      held.once('end', () => resolve());
      held.once('close', () => resolve());
    });
    held.write('ping');
    await waitForState(manager, id, (s) => s.openConnections === 1 && s.totalInboundData === 4);

    loop?.kill();
    await closed;
    const failed = await waitForState(manager, id, (s) => s.lastError?.startsWith('source transport failure: ') === true);
    expect(failed.totalConnections).toBe(0);
    const back = await waitForState(manager, id, (s) => s.status === 'forwarding' && s.sourceConnected);
    expect(back).toMatchObject({ openConnections: 0, totalConnections: 0, totalOutboundData: 0 });
    expect((await roundTrip(listen, 'reconnected')).toString()).toBe('reconnected');

    // A second failure right after the first waits retryDelayMs before reconnecting.
    loop?.kill();
    const waiting = Date.now();
    await waitForState(manager, id, (s) => s.status === 'disconnected');
    await eventually(async () => expect(await connectError(listen)).toBe('ECONNREFUSED'));
    await waitForState(manager, id, (s) => s.status === 'forwarding');
    expect(Date.now() - waiting).toBeGreaterThanOrEqual(2_500);
    expect((await stateOf(manager, id)).lastError).toMatch(/^source transport failure: /);
  });

  it('a lost destination agent ends serving with `destination transport failure`', async () => {
    const { manager, loop } = await test.workspace({ remote: true });
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address), { remote: 'destination' }), { paused: false }, signal);
    expect((await roundTrip(listen, 'one')).toString()).toBe('one');
    loop?.kill();
    const failed = await waitForState(manager, id, (s) => s.lastError?.startsWith('destination transport failure: ') === true);
    expect(failed.totalConnections).toBe(0);
    await waitForState(manager, id, (s) => s.status === 'forwarding');
    expect((await roundTrip(listen, 'two')).toString()).toBe('two');
  });
});
