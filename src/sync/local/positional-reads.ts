import { read } from 'node:fs';

/**
 * Reads `fd` from `start` (default 0) to end of file in chunks of up to `chunkSize` bytes, with
 * the next read already running in the thread pool while the consumer works on the current chunk. Two
 * buffers take turns: a yielded chunk is valid until the consumer asks for the next one (no
 * allocation per chunk). Positional reads: the descriptor's position is not moved. A read still
 * in flight when the consumer stops early is awaited, so the caller may close `fd` once the loop
 * is left.
 */
export async function* readAhead(fd: number, chunkSize: number, options: { readonly start?: number; readonly signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)] as const;
  let turn = 0;
  const signal = options.signal;
  let position = options.start ?? 0;
  let pending: Promise<number> | undefined = readAt(fd, buffers[0], position);
  try {
    for (;;) {
      signal?.throwIfAborted();
      const bytesRead: number = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      const chunk = buffers[turn]!;
      position += bytesRead;
      turn = 1 - turn;
      pending = readAt(fd, buffers[turn]!, position);
      yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
    }
  } finally {
    if (pending !== undefined) await pending.catch(() => undefined);
  }
}

/**
 * One positional read filling `buffer` as far as the file allows; resolves to the byte count.
 * Marked handled at once: a failure surfaces where the promise is awaited, however late.
 */
function readAt(fd: number, buffer: Buffer, position: number): Promise<number> {
  const result = new Promise<number>((resolve, reject) => {
    read(fd, buffer, 0, buffer.length, position, (error, bytesRead) => {
      if (error !== null) reject(error);
      else resolve(bytesRead);
    });
  });
  result.catch(() => undefined);
  return result;
}
