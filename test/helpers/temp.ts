import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/** A fresh directory under the system temp dir (short names: Unix socket paths are limited). */
export function makeTempDirectory(prefix = 'mt-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Temp directories created through the returned function are removed after each test. */
export function useTempDirectories(): (prefix?: string) => Promise<string> {
  const created: string[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
  });
  return async (prefix) => {
    const directory = await makeTempDirectory(prefix);
    created.push(directory);
    return directory;
  };
}
