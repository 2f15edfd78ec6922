import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connect, connectError, endpointOf, forwardSpec, freePort, roundTrip, signal, stateOf, useForwardTest, waitForState, type Address,
} from './fixture.js';

const test = useForwardTest();

describe('forward session lifecycle', () => {
  it('pause closes the listener and open connections; resume listens again', async () => {
    const { manager, base } = await test.workspace();
    const target = await test.server({});
    const tcp: Address = { port: await freePort() };
    const unix: Address = { path: path.join(base, 'p.sock') };
    const tcpId = await manager.create(forwardSpec(endpointOf(tcp), endpointOf(target.address), { name: 'tcp' }), { paused: false }, signal);
    await manager.create(forwardSpec(endpointOf(unix), endpointOf(target.address), { name: 'unix' }), { paused: false }, signal);
    const held = await connect(tcp);
    const closed = new Promise<void>((resolve) => {
      held.once('end', () => resolve());
      held.once('close', () => resolve());
    });
    held.on('error', () => undefined);
    await waitForState(manager, tcpId, (s) => s.openConnections === 1);

    expect(await manager.pause({ all: true }, signal)).toHaveLength(2);
    await closed;
    expect(await connectError(tcp)).toBe('ECONNREFUSED');
    expect(await connectError(unix)).toBe('ENOENT');
    const paused = await stateOf(manager, tcpId);
    expect(paused).toMatchObject({ status: 'disconnected', sourceConnected: false, openConnections: 0, totalConnections: 0 });
    expect(paused.session.paused).toBe(true);

    held.destroy();
    expect(await manager.resume({ all: true }, {}, signal)).toHaveLength(2);
    expect(await stateOf(manager, tcpId)).toMatchObject({ status: 'forwarding', session: { paused: false } });
    expect((await roundTrip(tcp, 'back')).toString()).toBe('back');
    expect((await roundTrip(unix, 'back too')).toString()).toBe('back too');
    // Resuming a forwarding session changes nothing.
    expect(await manager.resume({ specifications: ['tcp'] }, {}, signal)).toEqual([tcpId]);
    expect((await stateOf(manager, tcpId)).totalConnections).toBe(1);
  });

  it('creates paused sessions without binding, and resume binds', async () => {
    const { manager } = await test.workspace();
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: true }, signal);
    expect(await stateOf(manager, id)).toMatchObject({ status: 'disconnected', session: { paused: true } });
    expect(await connectError(listen)).toBe('ECONNREFUSED');
    const statuses: string[] = [];
    await manager.resume({ specifications: [id] }, { prompter: { status: (m) => statuses.push(m), prompt: () => Promise.resolve('') } }, signal);
    expect(statuses).toEqual(['Connecting to source...', 'Connecting to destination...']);
    expect((await roundTrip(listen, 'resumed')).toString()).toBe('resumed');
  });

  it('terminate removes the record and the socket file', async () => {
    const workspace = await test.workspace();
    const target = await test.server({});
    const socketPath = path.join(workspace.base, 't.sock');
    const id = await workspace.manager.create(forwardSpec(`unix:${socketPath}`, endpointOf(target.address), { name: 'gone' }), { paused: false }, signal);
    const sessions = path.join(workspace.dataDirectory, 'forwarding', 'sessions');
    expect(await readdir(sessions)).toEqual([`${id}.json`]);
    expect(existsSync(socketPath)).toBe(true);
    expect(await workspace.manager.terminate({ specifications: ['gone'] }, signal)).toEqual([id]);
    expect(existsSync(socketPath)).toBe(false);
    expect(await readdir(sessions)).toEqual([]);
    expect((await workspace.manager.list({}, undefined, signal)).sessions).toEqual([]);
    await expect(workspace.manager.terminate({ specifications: ['gone'] }, signal)).rejects.toMatchObject({ code: 'MUTAGEN_NOT_FOUND' });
  });

  it('comes back after a daemon restart: unpaused sessions listen again, paused ones stay paused', async () => {
    const workspace = await test.workspace();
    const target = await test.server({});
    const running: Address = { port: await freePort() };
    const unix: Address = { path: path.join(workspace.base, 'r.sock') };
    const stopped: Address = { port: await freePort() };
    const runningId = await workspace.manager.create(forwardSpec(endpointOf(running), endpointOf(target.address)), { paused: false }, signal);
    await workspace.manager.create(forwardSpec(endpointOf(unix), endpointOf(target.address)), { paused: false }, signal);
    const pausedId = await workspace.manager.create(forwardSpec(endpointOf(stopped), endpointOf(target.address)), { paused: true }, signal);
    expect((await roundTrip(running, 'first life')).toString()).toBe('first life');
    // A stray file in the records directory is ignored; a corrupt record is reported and kept.
    const sessions = path.join(workspace.dataDirectory, 'forwarding', 'sessions');
    await writeFile(path.join(sessions, 'README'), 'not a record');
    const corrupt = path.join(sessions, `fwrd_${'x'.repeat(43)}.json`);
    await writeFile(corrupt, '{"id": 1}');

    await workspace.manager.close();
    expect(await connectError(running)).toBe('ECONNREFUSED');
    expect(await connectError(unix)).toBe('ENOENT');

    const manager = await workspace.restart();
    const { sessions: states } = await manager.list({}, undefined, signal);
    expect(states.map((s) => s.session.id)).toContain(runningId);
    expect(states).toHaveLength(3);
    for (const state of states) {
      if (!state.session.paused) await waitForState(manager, state.session.id, (s) => s.status === 'forwarding');
    }
    expect((await roundTrip(running, 'second life')).toString()).toBe('second life');
    expect((await roundTrip(unix, 'unix again')).toString()).toBe('unix again');
    expect(await stateOf(manager, pausedId)).toMatchObject({ status: 'disconnected', session: { paused: true } });
    expect(await connectError(stopped)).toBe('ECONNREFUSED');
    expect(existsSync(corrupt)).toBe(true);
  });

  it('a restart with the port taken keeps retrying and binds once it is free', async () => {
    const workspace = await test.workspace();
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await workspace.manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: false }, signal);
    await workspace.manager.close();
    const squatter = await test.server({ port: listen.port });
    const manager = await workspace.restart();
    const failing = await waitForState(manager, id, (s) => s.lastError !== undefined);
    expect(failing.lastError).toContain('unable to connect to source: ');
    expect(failing.status).not.toBe('forwarding');
    await squatter.close();
    await waitForState(manager, id, (s) => s.status === 'forwarding');
    expect((await roundTrip(listen, 'finally')).toString()).toBe('finally');
  });

  it('update replaces the specification in place and restarts a running session with it', async () => {
    const { manager } = await test.workspace();
    const first = await test.server({}, (socket) => socket.end('first'));
    const second = await test.server({}, (socket) => socket.end('second'));
    const listen: Address = { port: await freePort() };
    const spec = forwardSpec(endpointOf(listen), endpointOf(first.address), { name: 'moving' });
    const id = await manager.create(spec, { paused: false }, signal);
    expect((await roundTrip(listen, '')).toString()).toBe('first');
    await manager.update(id, { ...spec, destination: { kind: 'forward', protocol: 'local', path: endpointOf(second.address) } }, signal);
    const updated = await stateOf(manager, id);
    expect(updated).toMatchObject({ status: 'forwarding', session: { id, name: 'moving', destination: { path: endpointOf(second.address) } } });
    expect((await roundTrip(listen, '')).toString()).toBe('second');
    await expect(manager.update('fwrd_nope', spec, signal)).rejects.toMatchObject({ code: 'MUTAGEN_NOT_FOUND' });
  });

  it('long-polls list until something changes', async () => {
    const { manager } = await test.workspace();
    const target = await test.server({});
    const { stateIndex } = await manager.list({}, undefined, signal);
    const controller = new AbortController();
    const cancelled = manager.list({}, stateIndex, controller.signal);
    controller.abort(new Error('gave up'));
    await expect(cancelled).rejects.toThrow('gave up');
    const woken = manager.list({}, stateIndex, signal);
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: false }, signal);
    const answer = await woken;
    expect(answer.stateIndex).toBeGreaterThan(stateIndex);
    expect(answer.sessions.map((s) => s.session.id)).toEqual([id]);
  });

  it('serializes concurrent operations on one session', async () => {
    const workspace = await test.workspace();
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const id = await workspace.manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: true }, signal);
    const both = await Promise.all([
      workspace.manager.resume({ specifications: [id] }, {}, signal),
      workspace.manager.resume({ specifications: [id] }, {}, signal),
    ]);
    expect(both).toEqual([[id], [id]]);
    expect((await roundTrip(listen, 'once')).toString()).toBe('once');
    await Promise.all([
      workspace.manager.pause({ all: true }, signal),
      workspace.manager.terminate({ all: true }, signal),
      workspace.manager.pause({ all: true }, signal),
    ]);
    expect(await readdir(path.join(workspace.dataDirectory, 'forwarding', 'sessions'))).toEqual([]);
    expect(await connectError(listen)).toBe('ECONNREFUSED');
  });
});
