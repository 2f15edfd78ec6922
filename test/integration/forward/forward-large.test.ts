import { createCipheriv, createHash } from 'node:crypto';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, endpointOf, forwardSpec, freePort, signal, useForwardTest, waitForState, type Address } from './fixture.js';

const test = useForwardTest();
const GIB = 1024 * 1024 * 1024;
/** The way back runs at the same time, smaller: the point is both directions under load, not twice the time. */
const BACK = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

function drained(socket: net.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { socket.off('close', onClose); resolve(); };
    const onClose = (): void => { socket.off('drain', onDrain); reject(new Error('closed while sending')); };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Writes `size` pseudo-random bytes (AES-CTR keystream of `seed`) with back-pressure; resolves with their sha256. */
async function sendGenerated(socket: net.Socket, size: number, seed: number): Promise<string> {
  const key = Buffer.alloc(16, seed);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  const hash = createHash('sha256');
  for (let sent = 0; sent < size; sent += CHUNK) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(CHUNK, size - sent)));
    hash.update(chunk);
    if (!socket.write(chunk)) await drained(socket);
  }
  socket.end();
  return hash.digest('hex');
}

/** Hashes everything `socket` delivers until it ends. */
function receiveHashed(socket: net.Socket): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => { hash.update(chunk); size += chunk.length; });
    socket.once('end', () => resolve({ digest: hash.digest('hex'), size }));
    socket.once('error', reject);
  });
}

describe('large transfers', () => {
  it('carries 1 GiB byte-identical while data also flows back', async () => {
    const { manager } = await test.workspace();
    let received: Promise<{ digest: string; size: number }> | undefined;
    let sentBack: Promise<string> | undefined;
    const target = await test.server({}, (socket) => {
      received = receiveHashed(socket);
      sentBack = sendGenerated(socket, BACK, 2);
    });
    const listen: Address = { port: await freePort() };
    const id = await manager.create(forwardSpec(endpointOf(listen), endpointOf(target.address)), { paused: false }, signal);
    const client = await connect(listen);
    const fromTarget = receiveHashed(client);
    const sent = await sendGenerated(client, GIB, 1);
    const [back, there] = await Promise.all([fromTarget, received]);
    expect(there).toEqual({ digest: sent, size: GIB });
    expect(back).toEqual({ digest: await sentBack, size: BACK });
    client.destroy();
    const state = await waitForState(manager, id, (s) => s.openConnections === 0);
    expect(state).toMatchObject({ totalConnections: 1, totalOutboundData: GIB, totalInboundData: BACK });
  });
});
