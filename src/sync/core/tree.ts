import type { Entry } from '../../model/entry.js';

/**
 * Compact builders for entry trees (tests, benchmarks, tooling). A string digest is used as its
 * UTF-8 bytes, so `fileEntry('F1')` and `fileEntry('F2')` differ and `fileEntry('F1')` values
 * are equal; pass real digest bytes where they matter.
 */
export function fileEntry(digest: Uint8Array | string, executable = false): Entry {
  return { kind: 'file', digest: typeof digest === 'string' ? new TextEncoder().encode(digest) : digest, executable };
}

export function dirEntry(children: Readonly<Record<string, Entry>> = {}): Entry {
  return { kind: 'directory', contents: new Map(Object.entries(children)) };
}

export function phantomEntry(children: Readonly<Record<string, Entry>> = {}): Entry {
  return { kind: 'phantom-directory', contents: new Map(Object.entries(children)) };
}

export function symlinkEntry(target: string): Entry {
  return { kind: 'symlink', target };
}

export function untrackedEntry(): Entry {
  return { kind: 'untracked' };
}

export function problematicEntry(problem: string): Entry {
  return { kind: 'problematic', problem };
}

/**
 * Builds a directory tree from root-relative paths (`"a/b/c"`); missing parent directories are
 * created. A path mapped to a directory entry merges with children listed separately.
 */
export function treeFromPaths(paths: Readonly<Record<string, Entry>>): Entry {
  const root = new Map<string, Entry>();
  const dirs = new Map<string, Map<string, Entry>>([['', root]]);
  const dirAt = (path: string): Map<string, Entry> => {
    const existing = dirs.get(path);
    if (existing !== undefined) return existing;
    const slash = path.lastIndexOf('/');
    const parent = dirAt(slash < 0 ? '' : path.slice(0, slash));
    const contents = new Map<string, Entry>();
    dirs.set(path, contents);
    parent.set(slash < 0 ? path : path.slice(slash + 1), { kind: 'directory', contents });
    return contents;
  };
  for (const path of Object.keys(paths).sort()) {
    const entry = paths[path];
    if (entry === undefined || path === '') continue;
    if (entry.kind === 'directory') {
      const contents = dirAt(path);
      for (const [name, child] of entry.contents) contents.set(name, child);
      continue;
    }
    const slash = path.lastIndexOf('/');
    dirAt(slash < 0 ? '' : path.slice(0, slash)).set(slash < 0 ? path : path.slice(slash + 1), entry);
  }
  return { kind: 'directory', contents: root };
}

/** One-line rendering for assertion messages: `{a: F(6631)+x, d: {}}`. */
export function describeEntry(e: Entry | undefined): string {
  if (e === undefined) return 'nil';
  switch (e.kind) {
    case 'directory':
    case 'phantom-directory': {
      const names = [...e.contents.keys()].sort();
      const body = names.map((name) => `${name}: ${describeEntry(e.contents.get(name))}`).join(', ');
      return `${e.kind === 'phantom-directory' ? 'P' : ''}{${body}}`;
    }
    case 'file': {
      const hex = [...e.digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
      return `F(${hex})${e.executable ? '+x' : ''}`;
    }
    case 'symlink':
      return `L(${e.target})`;
    case 'untracked':
      return 'U';
    case 'problematic':
      return `E(${e.problem})`;
  }
}
