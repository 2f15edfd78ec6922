import { lstat, readdir } from './sync-fs.js';
import path from 'node:path';
import { errnoCode, errorMessage, MutagenError } from '../../base/errors.js';
import { childPath } from '../../base/paths.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT_UTF8 = new TextDecoder('utf-8');

/** A resolved target of a transition: its parent directory and the leaf name inside it. */
export interface WalkTarget {
  /** Absolute path of the parent directory. */
  readonly parent: string;
  readonly name: string;
  /** Absolute path of the target itself. */
  readonly absolute: string;
}

/** A failed walk; `message` is the chainable reason (`parent path does not exist …`). */
export class WalkError extends MutagenError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('MUTAGEN_TRANSITION', message, options);
    this.name = 'WalkError';
  }
}

/** True for a name that may appear as one path component (§1.1: non-empty, not `.`/`..`, no `/`). */
export function isValidName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** Splits a root-relative path into validated components (`""` → []); rejects `..` and friends. */
export function pathComponents(relative: string): string[] {
  if (relative === '') return [];
  const components = relative.split('/');
  for (const component of components) {
    if (!isValidName(component)) throw new WalkError(`invalid path "${relative}"`);
  }
  return components;
}

/**
 * Lists a directory's names as the scanner sees them: recomposed to NFC when the filesystem
 * decomposes, non-UTF-8 names replaced by the scanner's substitute (`… (non-UTF-8)`) so they can
 * never match an expected name.
 */
export async function readDirectoryNames(directory: string, decomposesUnicode: boolean): Promise<string[]> {
  const raw = await readdir(directory, { encoding: 'buffer' });
  const names: string[] = [];
  for (const bytes of raw) {
    let name: string;
    try {
      name = UTF8.decode(bytes);
    } catch {
      names.push(`${LENIENT_UTF8.decode(bytes)} (non-UTF-8)`);
      continue;
    }
    names.push(decomposesUnicode ? name.normalize('NFC') : name);
  }
  return names;
}

/**
 * Walks from the synchronization root to the parent of a path, checking that every component
 * appears with exactly that spelling in its parent's listing and is a real directory (never a
 * symbolic link, so nothing escapes the root) (sync-semantics §5.2). Listings and verified
 * directories are remembered for the lifetime of one transition batch; the walker is told about
 * its own creations and removals. Changes made by others between a check and an operation are
 * the race Mutagen also accepts; the verification of §5.3 still runs on every target.
 */
export class PathWalker {
  private readonly listings = new Map<string, Set<string>>();
  private readonly verified = new Set<string>();

  constructor(
    readonly root: string,
    private readonly decomposesUnicode: boolean,
  ) {}

  /** Absolute path of a root-relative path (components validated). */
  absolute(relative: string): string {
    const components = pathComponents(relative);
    return components.length === 0 ? this.root : path.join(this.root, ...components);
  }

  /**
   * Resolves the parent of `relative`; with `validateLeaf` the leaf must also appear exactly in
   * the parent's listing (removals and swaps). The root (`""`) resolves to the root's parent and
   * base name. Throws WalkError.
   */
  async walkToParent(relative: string, validateLeaf: boolean): Promise<WalkTarget> {
    const components = pathComponents(relative);
    if (components.length === 0) return this.walkToRootParent(validateLeaf);
    await this.verifyRoot();
    let parent = this.root;
    for (const component of components.slice(0, -1)) {
      const child = childPath(parent, component);
      if (!this.verified.has(child)) {
        if (!(await this.hasName(parent, component))) throw new WalkError('parent path does not exist or has incorrect casing');
        await this.verifyDirectory(child, 'parent path is not a directory');
      }
      parent = child;
    }
    const name = components[components.length - 1] as string;
    if (validateLeaf && !(await this.hasName(parent, name))) throw new WalkError('leaf name does not exist or has incorrect casing');
    return { parent, name, absolute: childPath(parent, name) };
  }

  /** Records that `name` now exists in `parent` (keeps cached listings truthful). */
  noteCreated(parent: string, name: string): void {
    this.listings.get(parent)?.add(name);
  }

  /** Records that `name` no longer exists in `parent`, forgetting anything cached below it. */
  noteRemoved(parent: string, name: string): void {
    this.listings.get(parent)?.delete(name);
    const gone = path.join(parent, name);
    const below = `${gone}${path.sep}`;
    for (const key of [...this.listings.keys()]) if (key === gone || key.startsWith(below)) this.listings.delete(key);
    for (const key of [...this.verified]) if (key === gone || key.startsWith(below)) this.verified.delete(key);
  }

  private async walkToRootParent(validateLeaf: boolean): Promise<WalkTarget> {
    const parent = path.dirname(this.root);
    const name = path.basename(this.root);
    if (parent === this.root || name === '') throw new WalkError('synchronization root is a filesystem root');
    // A missing parent is a walk failure (sync-semantics §5.2), not an mkdir/open error later.
    await this.verifyDirectory(parent, 'parent path is not a directory');
    if (validateLeaf && !(await this.hasName(parent, name))) throw new WalkError('leaf name does not exist or has incorrect casing');
    return { parent, name, absolute: this.root };
  }

  private async verifyRoot(): Promise<void> {
    if (this.verified.has(this.root)) return;
    await this.verifyDirectory(this.root, 'synchronization root is not a directory');
  }

  private async verifyDirectory(directory: string, notDirectory: string): Promise<void> {
    let isDirectory: boolean;
    try {
      isDirectory = (await lstat(directory)).isDirectory();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw new WalkError('parent path does not exist or has incorrect casing', { cause: error });
      throw new WalkError(`unable to query parent path: ${errorMessage(error)}`, { cause: error });
    }
    if (!isDirectory) throw new WalkError(notDirectory);
    this.verified.add(directory);
  }

  private async hasName(directory: string, name: string): Promise<boolean> {
    let names = this.listings.get(directory);
    if (names === undefined) {
      try {
        names = new Set(await readDirectoryNames(directory, this.decomposesUnicode));
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
        throw new WalkError(`unable to read directory contents: ${errorMessage(error)}`, { cause: error });
      }
      this.listings.set(directory, names);
    }
    return names.has(name);
  }
}
