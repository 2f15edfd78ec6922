import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One node of a flat tree description (the format of the acceptance vectors). */
export type TreeNode =
  | { readonly type: 'file'; readonly content: string; readonly executable?: boolean }
  | { readonly type: 'dir' }
  | { readonly type: 'symlink'; readonly target: string };

/** Root-relative `/`-separated path → node; every directory listed; null = the root does not exist. */
export type Tree = Readonly<Record<string, TreeNode>> | null;

/** What readTree reports: like TreeNode, plus `other` for sockets, fifos and the like. */
export type ObservedNode =
  | { readonly type: 'file'; readonly content: string; readonly executable: boolean }
  | { readonly type: 'dir' }
  | { readonly type: 'symlink'; readonly target: string }
  | { readonly type: 'other' };

export type ObservedTree = Record<string, ObservedNode> | null;

/** Shorthand: a plain string is a non-executable file with that content. */
export type TreeInput = Readonly<Record<string, TreeNode | string>> | null;

export function normalizeTree(input: TreeInput): Tree {
  if (input === null) return null;
  const out: Record<string, TreeNode> = {};
  for (const [key, node] of Object.entries(input)) out[key] = typeof node === 'string' ? { type: 'file', content: node } : node;
  return out;
}

/** Replaces whatever is at `root` with exactly `input` (files 0644, or 0755 when executable). */
export async function writeTree(root: string, input: TreeInput): Promise<void> {
  await rm(root, { recursive: true, force: true });
  const tree = normalizeTree(input);
  if (tree === null) return;
  await mkdir(root, { recursive: true });
  const entries = Object.entries(tree).sort(([a], [b]) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  for (const [relative, node] of entries) await writeNode(path.join(root, relative), node);
}

async function writeNode(target: string, node: TreeNode): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  switch (node.type) {
    case 'dir':
      await mkdir(target, { recursive: true });
      return;
    case 'file':
      await writeFile(target, node.content);
      await chmod(target, node.executable === true ? 0o755 : 0o644);
      return;
    case 'symlink':
      await symlink(node.target, target);
      return;
  }
}

/** Reads a root back into the flat format (file contents as UTF-8: small test files only). */
export async function readTree(root: string): Promise<ObservedTree> {
  let stat;
  try {
    stat = await lstat(root);
  } catch {
    return null;
  }
  if (!stat.isDirectory()) return { '': await observe(root) };
  const out: Record<string, ObservedNode> = {};
  const walk = async (directory: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(directory)).sort()) {
      const absolute = path.join(directory, name);
      const relative = prefix === '' ? name : `${prefix}/${name}`;
      const node = await observe(absolute);
      out[relative] = node;
      if (node.type === 'dir') await walk(absolute, relative);
    }
  };
  await walk(root, '');
  return out;
}

async function observe(absolute: string): Promise<ObservedNode> {
  const stat = await lstat(absolute);
  if (stat.isSymbolicLink()) return { type: 'symlink', target: await readlink(absolute) };
  if (stat.isDirectory()) return { type: 'dir' };
  if (stat.isFile()) return { type: 'file', content: await readFile(absolute, 'utf8'), executable: (stat.mode & 0o111) !== 0 };
  return { type: 'other' };
}

/** The comparable form of a tree: kinds, contents, executability, symlink targets. */
export function canonical(tree: TreeInput | ObservedTree): Record<string, string> | null {
  if (tree === null) return null;
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(tree)) {
    const node = typeof raw === 'string' ? { type: 'file' as const, content: raw, executable: false } : raw;
    switch (node.type) {
      case 'dir': out[key] = 'dir'; break;
      case 'symlink': out[key] = `-> ${node.target}`; break;
      case 'other': out[key] = 'other'; break;
      case 'file': out[key] = `${node.executable === true ? 'x' : '-'} ${node.content}`; break;
    }
  }
  return out;
}

/** Relative paths of every entry below `root` (recursively), sorted. */
export async function listPaths(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (directory: string, prefix: string): Promise<void> => {
    for (const dirent of await readdir(directory, { withFileTypes: true })) {
      const relative = prefix === '' ? dirent.name : `${prefix}/${dirent.name}`;
      out.push(relative);
      if (dirent.isDirectory()) await walk(path.join(directory, dirent.name), relative);
    }
  };
  await walk(root, '');
  return out.sort();
}

/** SHA-256 of a file, streamed (safe for large files). */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `size` random bytes in 1 MiB chunks (never the whole file in memory); creates parents. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const chunk = 1024 * 1024;
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < size; written += chunk) await handle.write(randomBytes(Math.min(chunk, size - written)));
  } finally {
    await handle.close();
  }
}

/** Every path under `root` whose name marks an unfinished write (none may survive a failure). */
export async function temporaries(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((entry) => path.basename(entry).startsWith('.mutagen-temporary'));
}
