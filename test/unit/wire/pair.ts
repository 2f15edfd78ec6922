import { createHash, randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import { duplexPair } from 'node:stream';
import { afterEach } from 'vitest';
import type { Carrier, MultiplexerOptions } from '../../../src/wire/multiplexer.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { compressCarrier } from '../../../src/wire/compression.js';
import type { Compression } from '../../../src/wire/compression.js';

export function carrierOf(duplex: Duplex): Carrier {
  return { readable: duplex, writable: duplex };
}

/** Two connected multiplexers (client, server) over an in-memory duplexPair. */
export function muxPair(options: { compression?: Compression; client?: Partial<MultiplexerOptions>; server?: Partial<MultiplexerOptions> } = {}): {
  client: Multiplexer; server: Multiplexer; close: () => Promise<void>;
} {
  const [a, b] = duplexPair();
  const compression = options.compression ?? 'none';
  const client = new Multiplexer(compressCarrier(carrierOf(a), compression), { ...options.client, role: 'client' });
  const server = new Multiplexer(compressCarrier(carrierOf(b), compression), { ...options.server, role: 'server' });
  return {
    client,
    server,
    close: async () => {
      const closing = Promise.all([client.close(), server.close()]);
      a.destroy();
      b.destroy();
      await closing;
    },
  };
}

/** Writes `total` random bytes in chunks (respecting back-pressure), then ends; returns their sha256. */
export async function writeRandom(stream: Writable, total: number, chunkSize = 1024 * 1024): Promise<string> {
  const hash = createHash('sha256');
  let sent = 0;
  while (sent < total) {
    const chunk = randomBytes(Math.min(chunkSize, total - sent));
    hash.update(chunk);
    sent += chunk.length;
    if (!stream.write(chunk)) await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => { stream.off('error', onError); resolve(); };
      const onError = (error: Error): void => { stream.off('drain', onDrain); reject(error); };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  }
  await new Promise<void>((resolve) => stream.end(resolve));
  return hash.digest('hex');
}

/** Reads a stream to its end; returns byte count and sha256. */
export async function readAll(stream: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export function text(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(parts).toString()));
    stream.on('error', reject);
  });
}

/** The error a stream is destroyed with. */
export function errorOf(stream: Readable | Writable): Promise<Error> {
  return new Promise((resolve) => stream.once('error', resolve));
}

/**
 * Per-test cleanups for a test file: `pair()` is muxPair closed after the test, `defer()` adds
 * any other cleanup; both run in afterEach.
 */
export function useCleanups(): { pair: typeof muxPair; defer: (cleanup: () => Promise<void> | void) => void } {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return {
    pair: (...args) => {
      const created = muxPair(...args);
      cleanups.push(created.close);
      return created;
    },
    defer: (cleanup) => { cleanups.push(cleanup); },
  };
}
