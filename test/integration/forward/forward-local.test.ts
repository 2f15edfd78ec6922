import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connect, endpointOf, forwardSpec, freePort, roundTrip, signal, stateOf, useForwardTest, waitForState, type Address,
} from './fixture.js';

const test = useForwardTest();

describe('local forwarding', () => {
  it('carries a TCP connection to a TCP target and counts connections and bytes', async () => {
    const { manager, dataDirectory } = await test.workspace();
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address), { name: 'web', labels: { team: 'a' } }), { paused: false }, signal);
    expect(id).toMatch(/^fwrd_[0-9a-zA-Z]{43}$/);
    const created = await stateOf(manager, id);
    expect(created).toMatchObject({ status: 'forwarding', sourceConnected: true, destinationConnected: true, lastError: undefined, totalConnections: 0 });

    expect((await roundTrip(listen, 'hello, target')).toString()).toBe('hello, target');
    expect((await roundTrip(listen, Buffer.alloc(100_000, 7))).equals(Buffer.alloc(100_000, 7))).toBe(true);
    const state = await waitForState(manager, id, (s) => s.openConnections === 0 && s.totalConnections === 2 && s.totalInboundData === 100_013);
    expect(state).toMatchObject({
      status: 'forwarding', openConnections: 0, totalConnections: 2, droppedConnections: 0, totalOutboundData: 100_013, totalInboundData: 100_013,
    });
    expect(target.accepted).toBe(2);

    const record: unknown = JSON.parse(await readFile(path.join(dataDirectory, 'forwarding', 'sessions', `${id}.json`), 'utf8'));
    expect(record).toMatchObject({ id, version: 1, name: 'web', labels: { team: 'a' }, paused: false, creatingVersion: '0.1.0-test' });
    const { sessions } = await manager.list({ labelSelector: 'team=a' }, undefined, signal);
    expect(sessions.map((s) => s.session.id)).toEqual([id]);
  });

  it('shows an open connection while it lasts and counts bytes as they flow', async () => {
    const { manager } = await test.workspace();
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: false }, signal);
    const client = await connect(listen);
    client.write('12345');
    const replied = new Promise<Buffer>((resolve) => client.once('data', resolve));
    expect((await replied).toString()).toBe('12345');
    const open = await waitForState(manager, id, (s) => s.openConnections === 1 && s.totalInboundData === 5);
    expect(open).toMatchObject({ totalConnections: 1, totalOutboundData: 5 });
    client.end();
    await waitForState(manager, id, (s) => s.openConnections === 0);
    client.destroy();
  });

  it('forwards a Unix socket to a TCP target and a TCP listener to a Unix socket target', async () => {
    const { manager, base } = await test.workspace();
    const tcpTarget = await test.server({});
    const unixListen: Address = { path: path.join(base, 'in.sock') };
    const first = await manager.create(forwardSpec(endpointOf(unixListen), endpointOf(tcpTarget.address)), { paused: false }, signal);
    expect((await roundTrip(unixListen, 'via unix')).toString()).toBe('via unix');

    const unixTarget = await test.server({ path: path.join(base, 'target.sock') });
    const tcpListen: Address = { port: await freePort() };
    const second = await manager.create(forwardSpec(endpointOf(tcpListen), endpointOf(unixTarget.address)), { paused: false }, signal);
    expect((await roundTrip(tcpListen, 'to unix')).toString()).toBe('to unix');

    // Chained: unix → tcp listener of the second session → unix target.
    const chain: Address = { path: path.join(base, 'chain.sock') };
    await manager.create(forwardSpec(endpointOf(chain), endpointOf(tcpListen)), { paused: false }, signal);
    expect((await roundTrip(chain, 'both hops')).toString()).toBe('both hops');
    await waitForState(manager, first, (s) => s.totalOutboundData === 8 && s.openConnections === 0);
    await waitForState(manager, second, (s) => s.totalConnections === 2 && s.totalInboundData === 16 && s.openConnections === 0);
    expect(unixTarget.accepted).toBe(2);
  });

  it('keeps half-closed connections open in the other direction, both ways', async () => {
    const { manager } = await test.workspace();
    // Target A reads until the client half-closes, then answers and ends.
    const answersAfterEnd = await test.server({}, (socket) => {
      let received = 0;
      socket.on('data', (chunk: Buffer) => { received += chunk.length; });
      socket.once('end', () => socket.end(`received ${received} bytes`));
    });
    const listenA: Address = { port: await freePort() };
    await manager.create(forwardSpec(endpointOf(listenA), endpointOf(answersAfterEnd.address)), { paused: false }, signal);
    expect((await roundTrip(listenA, Buffer.alloc(300_000, 1))).toString()).toBe('received 300000 bytes');

    // Target B greets and half-closes first; the client answers afterwards and the target still gets it.
    let heard: (text: string) => void = () => undefined;
    const heardFromClient = new Promise<string>((resolve) => { heard = resolve; });
    const closesFirst = await test.server({}, (socket) => {
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
      socket.once('end', () => { heard(text); socket.destroy(); });
      socket.end('greeting');
    });
    const listenB: Address = { port: await freePort() };
    await manager.create(forwardSpec(endpointOf(listenB), endpointOf(closesFirst.address)), { paused: false }, signal);
    const client = await connect(listenB);
    let greeting = '';
    client.setEncoding('utf8').on('data', (chunk: string) => { greeting += chunk; });
    await new Promise<void>((resolve) => client.once('end', resolve));
    expect(greeting).toBe('greeting');
    client.end('reply after the target half-closed');
    expect(await heardFromClient).toBe('reply after the target half-closed');
    client.destroy();
  });

  it('completes 1,000 concurrent connections', async () => {
    const { manager } = await test.workspace();
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: false }, signal);
    const count = 1000;
    const replies = await Promise.all(Array.from({ length: count }, async (_, i) => {
      const payload = Buffer.alloc(1024, i % 251);
      const reply = await roundTrip(listen, payload);
      return reply.equals(payload);
    }));
    expect(replies.filter(Boolean)).toHaveLength(count);
    const state = await waitForState(manager, id, (s) => s.openConnections === 0 && s.totalInboundData === count * 1024);
    expect(state).toMatchObject({ totalConnections: count, droppedConnections: 0, totalOutboundData: count * 1024, status: 'forwarding' });
    expect(target.accepted).toBe(count);
  });
});
