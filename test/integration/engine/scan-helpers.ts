import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../../../src/model/entry.js';
import { createIgnorer } from '../../../src/sync/ignore/ignorer.js';
import { scan, type ScanOptions, type ScanOutput } from '../../../src/sync/local/scanner.js';

/** A tree to write: string = file content; object = directory; `{ link }` = symbolic link; `{ content, mode }` = file with mode. */
export type TreeSpec = { readonly [name: string]: TreeNode };
export type TreeNode = string | TreeSpec | { readonly link: string } | { readonly content: string; readonly mode: number };

function isLink(node: TreeNode): node is { readonly link: string } {
  return typeof node === 'object' && typeof (node as { link?: unknown }).link === 'string';
}

function isModeFile(node: TreeNode): node is { readonly content: string; readonly mode: number } {
  return typeof node === 'object' && typeof (node as { mode?: unknown }).mode === 'number';
}

export function writeTree(root: string, spec: TreeSpec): void {
  mkdirSync(root, { recursive: true });
  for (const [name, node] of Object.entries(spec)) {
    const target = path.join(root, name);
    if (typeof node === 'string') writeFileSync(target, node);
    else if (isLink(node)) symlinkSync(node.link, target);
    else if (isModeFile(node)) {
      writeFileSync(target, node.content);
      chmodSync(target, node.mode);
    } else writeTree(target, node);
  }
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}

export function sha1(content: string | Uint8Array): string {
  return createHash('sha1').update(content).digest('hex');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Compact, comparable picture of an entry: directories as objects, leaves as strings. */
export type Shape = string | { readonly [name: string]: Shape } | readonly ['phantom', { readonly [name: string]: Shape }];

export function shape(entry: Entry | undefined): Shape | undefined {
  if (entry === undefined) return undefined;
  switch (entry.kind) {
    case 'directory':
    case 'phantom-directory': {
      const out: Record<string, Shape> = {};
      for (const name of [...entry.contents.keys()].sort()) out[name] = shape(entry.contents.get(name)) as Shape;
      return entry.kind === 'directory' ? out : ['phantom', out];
    }
    case 'file':
      return entry.executable ? 'file+x' : 'file';
    case 'symlink':
      return `-> ${entry.target}`;
    case 'untracked':
      return 'untracked';
    case 'problematic':
      return `problem: ${entry.problem}`;
  }
}

/** The entry at a `/`-separated path below `entry`. */
export function entryAt(entry: Entry | undefined, relative: string): Entry | undefined {
  let current = entry;
  for (const name of relative === '' ? [] : relative.split('/')) {
    if (current === undefined || (current.kind !== 'directory' && current.kind !== 'phantom-directory')) return undefined;
    current = current.contents.get(name);
  }
  return current;
}

export function digestAt(entry: Entry | undefined, relative: string): string | undefined {
  const found = entryAt(entry, relative);
  return found?.kind === 'file' ? hex(found.digest) : undefined;
}

export const NO_IGNORES = createIgnorer({ syntax: 'mutagen', patterns: [], vcs: false });

export function scanOptions(root: string, overrides: Partial<ScanOptions> = {}): ScanOptions {
  return {
    root,
    hash: 'sha1',
    symlinkMode: 'portable',
    permissionsMode: 'portable',
    probeMode: 'probe',
    ignorer: NO_IGNORES,
    cache: new Map(),
    maxEntryCount: 0,
    ...overrides,
  };
}

export function scanTree(root: string, overrides: Partial<ScanOptions> = {}): Promise<ScanOutput> {
  return scan(scanOptions(root, overrides));
}
