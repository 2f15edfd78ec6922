/**
 * Micro-benchmark of src/wire: pushes bytes through one WireStream between two multiplexers over
 * an in-memory node:stream duplexPair, with and without deflate. Prints MB/s and the bytes that
 * crossed the carrier; asserts nothing. "source text" is TypeScript's own compiler source from
 * node_modules (real code, ~4.3:1 at deflate level 1), "text" a synthetic word soup.
 *   npx tsx scripts/bench-wire.ts [MiB=512]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { duplexPair } from 'node:stream';
import type { Writable } from 'node:stream';
import type { Compression } from '../src/wire/compression.js';
import { compressCarrier } from '../src/wire/compression.js';
import { Multiplexer } from '../src/wire/multiplexer.js';

const MIB = 1024 * 1024;

function textChunk(size: number): Buffer {
  const words = ['const', 'value', 'return', 'function', 'import', 'export', '{', '}', '(', ')', ';', '\n', 'stream', 'frame'];
  const parts: string[] = [];
  let length = 0;
  let seed = 7;
  while (length < size) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const word = words[seed % words.length] ?? ' ';
    parts.push(word, ' ');
    length += word.length + 1;
  }
  return Buffer.from(parts.join('').slice(0, size));
}

function sourceTextChunk(size: number): Buffer | undefined {
  const path = new URL('../node_modules/typescript/lib/typescript.js', import.meta.url);
  if (!existsSync(path)) return undefined;
  const source = readFileSync(path);
  return source.length >= size ? source.subarray(0, size) : undefined;
}

async function writeAll(stream: Writable, chunk: Buffer, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }
  await new Promise<void>((resolve) => stream.end(resolve));
}

async function run(label: string, compression: Compression, chunk: Buffer, total: number): Promise<void> {
  const [a, b] = duplexPair();
  const client = new Multiplexer(compressCarrier({ readable: a, writable: a }, compression), { role: 'client' });
  const server = new Multiplexer(compressCarrier({ readable: b, writable: b }, compression), { role: 'server' });
  let carrierBytes = 0;
  b.on('data', (data: Buffer) => { carrierBytes += data.length; });
  const started = process.hrtime.bigint();
  const stream = client.open();
  const writing = writeAll(stream, chunk, total);
  const remote = await server.accept(AbortSignal.timeout(60_000));
  let received = 0;
  for await (const data of remote) received += (data as Buffer).length;
  await writing;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (received !== total) throw new Error(`received ${received} of ${total} bytes`);
  const ratio = `  (carrier ${(carrierBytes / MIB).toFixed(1)} MiB)`;
  console.log(`${label.padEnd(28)} ${(total / MIB).toFixed(0).padStart(5)} MiB  ${(total / 1e6 / seconds).toFixed(0).padStart(6)} MB/s${ratio}`);
  await Promise.all([client.close(), server.close()]);
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? '512');
  const total = mib * MIB;
  const random = randomBytes(MIB);
  const text = textChunk(MIB);
  const source = sourceTextChunk(8 * MIB);
  await run('none, random data', 'none', random, total);
  await run('deflate, text data', 'deflate', text, total);
  if (source !== undefined) await run('deflate, source text', 'deflate', source, total);
  await run('deflate, random data', 'deflate', random, total);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
