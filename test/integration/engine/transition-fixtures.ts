import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { joinPath, type Entry } from '../../../src/model/entry.js';
import type { CacheEntry } from '../../../src/sync/local/scan-cache.js';
import { StagingStore } from '../../../src/sync/local/staging.js';
import type { TransitionOptions } from '../../../src/sync/local/transition.js';

/** A temp workspace: `root` (the sync root, not created) and a staging store beside it. */
export interface Workspace {
  readonly base: string;
  readonly root: string;
  readonly staging: StagingStore;
  dispose(): Promise<void>;
}

export async function createWorkspace(stagingParent?: string): Promise<Workspace> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'mutagen-transition-'));
  const stagingBase = stagingParent === undefined ? base : await mkdtemp(path.join(stagingParent, 'mutagen-staging-'));
  const staging = new StagingStore({ root: path.join(stagingBase, 'staging'), hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER });
  await staging.initialize();
  return {
    base,
    root: path.join(base, 'root'),
    staging,
    dispose: async () => {
      await rm(base, { recursive: true, force: true });
      if (stagingBase !== base) await rm(stagingBase, { recursive: true, force: true });
    },
  };
}

export function sha1(content: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(content).digest());
}

/** Stages `content` for `relative` and returns its digest once it is staged (not yet journaled). */
export async function stage(store: StagingStore, relative: string, content: string | Uint8Array): Promise<Uint8Array> {
  const sink = await store.createSink(relative);
  await sink.write(typeof content === 'string' ? Buffer.from(content) : content);
  const digest = await sink.commit();
  await store.settled();
  return digest;
}

/**
 * A minimal stand-in for the scanner: the Entry tree at `root` and a scan cache built from
 * bigint lstats (sha1 digests, executability from any execute bit, temporary names skipped).
 */
export async function scanTree(root: string): Promise<{ entry: Entry | undefined; cache: Map<string, CacheEntry>; count: number }> {
  const cache = new Map<string, CacheEntry>();
  let count = 0;
  const visit = async (absolute: string, relative: string): Promise<Entry | undefined> => {
    let stat;
    try {
      stat = await lstat(absolute, { bigint: true });
    } catch {
      return undefined;
    }
    if (stat.isSymbolicLink()) {
      count++;
      return { kind: 'symlink', target: await readlink(absolute) };
    }
    if (stat.isFile()) {
      count++;
      const digest = sha1(await readFile(absolute));
      cache.set(relative, { mode: Number(stat.mode), mtimeNs: stat.mtimeNs, size: Number(stat.size), ino: Number(stat.ino), digest });
      return { kind: 'file', digest, executable: (Number(stat.mode) & 0o111) !== 0 };
    }
    if (!stat.isDirectory()) return { kind: 'untracked' };
    count++;
    const contents = new Map<string, Entry>();
    for (const name of (await readdir(absolute)).sort()) {
      if (name.startsWith('.mutagen-temporary-')) continue;
      const child = await visit(path.join(absolute, name), joinPath(relative, name));
      if (child !== undefined) contents.set(name, child);
    }
    return { kind: 'directory', contents };
  };
  const entry = await visit(root, '');
  return { entry, cache, count };
}

/** Names starting with `.mutagen-temporary-` anywhere below `root` (should be none). */
export async function temporaryNames(root: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  for (const name of entries) if (path.basename(name).startsWith('.mutagen-temporary-')) found.push(name);
  return found;
}

export async function modeOf(file: string): Promise<number> {
  return (await lstat(file)).mode & 0o7777;
}

export function transitionOptions(
  workspace: Workspace,
  scanned: { cache: Map<string, CacheEntry>; count: number },
  overrides: Partial<TransitionOptions> = {},
): TransitionOptions {
  return {
    root: workspace.root,
    cache: scanned.cache,
    staging: workspace.staging,
    symlinkMode: 'portable',
    permissionsMode: 'portable',
    defaultFileMode: 0o600,
    defaultDirectoryMode: 0o700,
    owner: undefined,
    group: undefined,
    decomposesUnicode: false,
    maxEntryCount: 0,
    lastScanCount: scanned.count,
    hash: 'sha1',
    ...overrides,
  };
}
