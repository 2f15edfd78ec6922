/**
 * The client side of the forwarding bench, speaking bench/target-server.ts's protocol through a
 * forward's listener: a one-way stream with verification, sequential small round trips, and many
 * idle connections. Every wait has a deadline; sockets are destroyed on every path.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PatternVerifier } from './pattern.js';
import { stopPid } from './proc.js';

const TARGET_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../target-server.ts');

export interface Target {
  readonly port: number;
  readonly pid: number;
  close(): Promise<void>;
}

/** Starts bench/target-server.ts (node --import tsx) and waits for its port. */
export async function startTarget(signal: AbortSignal): Promise<Target> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), TARGET_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'], signal });
  const pid = child.pid;
  if (pid === undefined) throw new Error('unable to start the target server');
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = output.match(/^listening (\d+)$/m);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`target server exited ${String(code)} before listening`)));
    child.once('error', reject);
  });
  return { port, pid, close: () => stopPid(pid) };
}

function connect(port: number, timeoutMs = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to 127.0.0.1:${port} timed out`)); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); socket.off('error', reject); resolve(socket); });
    socket.once('error', (error) => { clearTimeout(timer); reject(error); });
  });
}

/** Reads until `predicate(all bytes so far)` holds, the socket ends, or the deadline passes. */
function readUntil(socket: net.Socket, predicate: (data: Buffer) => boolean, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', finish);
      if (error === undefined) resolve(data); else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      if (predicate(data)) finish();
    };
    const onEnd = (): void => finish(predicate(data) ? undefined : new Error(`connection ended after ${data.length} bytes`));
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData).once('end', onEnd).once('error', finish);
  });
}

/** Waits until a TCP connect to the port succeeds (a listener is up). */
export async function waitForListener(port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    try {
      (await connect(port, 2000)).destroy();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`, { cause: error });
      await delay(50, undefined, { signal });
    }
  }
}

/** A target-server request: its mode byte, then `bytes` as a u64 BE. */
function lengthRequest(mode: 'S' | 'G', bytes: number): Buffer {
  const request = Buffer.alloc(9);
  request.write(mode, 0, 'latin1');
  request.writeBigUInt64BE(BigInt(bytes), 1);
  return request;
}

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Sends `bytes` of the pattern one way; the time runs from the first byte to the sink's answer. */
export async function throughput(port: number, bytes: number, pattern: Buffer, timeoutMs: number): Promise<{ seconds: number; intact: boolean }> {
  const socket = await connect(port);
  try {
    const answer = readUntil(socket, (data) => data.includes(0x0a), timeoutMs);
    const start = process.hrtime.bigint();
    socket.write(lengthRequest('S', bytes));
    for (let sent = 0; sent < bytes;) {
      const chunk = pattern.subarray(0, Math.min(pattern.length, bytes - sent));
      sent += chunk.length;
      if (!socket.write(chunk)) await once(socket, 'drain');
    }
    const line = (await answer).toString('utf8').trim();
    return { seconds: secondsSince(start), intact: line === `ok ${bytes} intact` };
  } finally {
    socket.destroy();
  }
}

/** Has the target send `bytes` of the pattern; the time runs from the request to the last byte. */
export async function download(port: number, bytes: number, pattern: Buffer, timeoutMs: number): Promise<{ seconds: number; intact: boolean }> {
  const socket = await connect(port);
  try {
    const verifier = new PatternVerifier(pattern);
    const start = process.hrtime.bigint();
    const ended = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`download not complete within ${timeoutMs} ms`)), timeoutMs);
      socket.on('data', (chunk: Buffer) => verifier.push(chunk));
      socket.once('end', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (error) => { clearTimeout(timer); reject(error); });
    });
    socket.write(lengthRequest('G', bytes));
    await ended;
    return { seconds: secondsSince(start), intact: verifier.received === bytes && verifier.intact };
  } finally {
    socket.destroy();
  }
}

/** `rounds` sequential round trips of `size` bytes on one connection (after `warmup` uncounted ones); milliseconds each. */
export async function roundTrips(port: number, rounds: number, warmup: number, size: number): Promise<number[]> {
  const socket = await connect(port);
  try {
    socket.write('E');
    const message = Buffer.alloc(size, 0x61);
    const times: number[] = [];
    for (let index = 0; index < warmup + rounds; index++) {
      const echoed = readUntil(socket, (data) => data.length >= size, 10_000);
      const start = process.hrtime.bigint();
      socket.write(message);
      const data = await echoed;
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (!data.equals(message)) throw new Error(`round trip ${index}: echo differs`);
      if (index >= warmup) times.push(ms);
    }
    return times;
  } finally {
    socket.destroy();
  }
}

/** Opens `count` idle connections (each acknowledged by the target end to end), `parallel` at a time. */
export async function openIdle(port: number, count: number, parallel: number): Promise<{ sockets: net.Socket[]; close(): void }> {
  const sockets: net.Socket[] = [];
  const close = (): void => { for (const socket of sockets.splice(0)) socket.destroy(); };
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        next += 1;
        const socket = await connect(port);
        sockets.push(socket);
        const ack = readUntil(socket, (data) => data.length >= 1, 30_000);
        socket.write('I');
        if ((await ack).toString('latin1') !== 'k') throw new Error('idle connection: unexpected acknowledgement');
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
    return { sockets, close };
  } catch (error) {
    close();
    throw error;
  }
}
