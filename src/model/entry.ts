/**
 * The tree that snapshots and the ancestor are made of (sync-semantics §1). Entries are
 * immutable; a change replaces a whole subtree.
 */
export type Entry =
  | { readonly kind: 'directory'; readonly contents: ReadonlyMap<string, Entry> }
  | { readonly kind: 'phantom-directory'; readonly contents: ReadonlyMap<string, Entry> }
  | { readonly kind: 'file'; readonly digest: Uint8Array; readonly executable: boolean }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'untracked' }
  | { readonly kind: 'problematic'; readonly problem: string };

export type EntryKind = Entry['kind'];
export type DirectoryEntry = Extract<Entry, { kind: 'directory' }>;
export type FileEntry = Extract<Entry, { kind: 'file' }>;

/** `new` undefined = deletion; `old` undefined = creation. */
export interface Change {
  readonly path: string;
  readonly old: Entry | undefined;
  readonly new: Entry | undefined;
}

export interface Conflict {
  readonly root: string;
  readonly alphaChanges: readonly Change[];
  readonly betaChanges: readonly Change[];
}

export interface Problem {
  readonly path: string;
  readonly error: string;
}

export interface Snapshot {
  readonly content: Entry | undefined;
  readonly preservesExecutability: boolean;
  readonly decomposesUnicode: boolean;
  readonly directories: number;
  readonly files: number;
  readonly symbolicLinks: number;
  readonly totalFileSize: number;
}

export const EMPTY_CONTENTS: ReadonlyMap<string, Entry> = new Map();

export function directory(contents: ReadonlyMap<string, Entry> = EMPTY_CONTENTS): Entry {
  return { kind: 'directory', contents };
}

export function isDirectoryLike(entry: Entry | undefined): entry is Extract<Entry, { contents: ReadonlyMap<string, Entry> }> {
  return entry !== undefined && (entry.kind === 'directory' || entry.kind === 'phantom-directory');
}

export function isSynchronizable(entry: Entry): boolean {
  return entry.kind === 'directory' || entry.kind === 'file' || entry.kind === 'symlink';
}

/** Root-relative child path: `parent + "/" + name`, or `name` under the root `""`. */
export function joinPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** Component-wise path order with `""` first (used for listing conflicts and problems). */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export function digestHex(digest: Uint8Array): string {
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');
}
