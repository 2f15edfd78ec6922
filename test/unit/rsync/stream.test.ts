import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deltaOperations, MAX_RUN_BYTES } from '../../../src/sync/rsync/delta.js';
import { Patcher } from '../../../src/sync/rsync/patch.js';
import { blockSizeFor, signatureOfFile } from '../../../src/sync/rsync/signature.js';
import { seededBytes } from './bytes.js';

const SIZE = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const CHANGED_AT = 32 * 1024 * 1024 + 12_345;

/** The 64 MiB file, generated chunk by chunk; `changed` flips one byte in the middle. */
function* generate(changed: boolean): Generator<Buffer> {
  for (let offset = 0; offset < SIZE; offset += CHUNK) {
    const chunk = seededBytes(offset / CHUNK + 1, CHUNK);
    if (changed && CHANGED_AT >= offset && CHANGED_AT < offset + CHUNK) chunk[CHANGED_AT - offset] = chunk[CHANGED_AT - offset]! ^ 0x5a;
    yield chunk;
  }
}

async function* target(): AsyncGenerator<Uint8Array> {
  for (const chunk of generate(true)) yield await Promise.resolve(chunk);
}

describe('streamed 64 MiB delta', () => {
  let dir: string;
  let handle: FileHandle | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rsync-stream-'));
  });
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('sends about one block of data for a one-byte change and patches back exactly', async () => {
    const path = join(dir, 'base');
    handle = await open(path, 'w+');
    let position = 0;
    for (const chunk of generate(false)) {
      await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    const signature = await signatureOfFile(handle, SIZE);
    const blockSize = blockSizeFor(SIZE);
    expect(signature.blockSize).toBe(blockSize);

    const output = createHash('sha256');
    const patcher = new Patcher(handle, signature, (chunk) => Promise.resolve(void output.update(chunk)));
    let dataBytes = 0;
    const shape: string[] = [];
    for await (const operation of deltaOperations(target(), signature)) {
      if (operation.kind === 'data') dataBytes += operation.data.length;
      shape.push(operation.kind);
      await patcher.apply(operation);
    }
    expect(dataBytes).toBeLessThan(70 * 1024);
    expect(dataBytes).toBe(blockSize);
    // Runs are sent in parts of MAX_RUN_BYTES: 32 MiB of blocks before the change, 32 MiB less one block after it.
    const runs = MAX_RUN_BYTES / blockSize;
    expect(shape).toEqual([...Array<string>(32 * 1024 * 1024 / blockSize / runs).fill('blocks'), 'data', ...Array<string>(Math.ceil((32 * 1024 * 1024 / blockSize - 1) / runs)).fill('blocks')]);

    const expected = createHash('sha256');
    for (const chunk of generate(true)) expected.update(chunk);
    expect(output.digest('hex')).toBe(expected.digest('hex'));
    expect(patcher.bytesWritten).toBe(SIZE);
  });
});
