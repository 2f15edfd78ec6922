import type { Entry } from '../../model/entry.js';
import { isDirectoryLike } from '../../model/entry.js';
import { contentsOf, unionNames } from './entries.js';

interface Reified {
  /** Something tracked at or below this path on either side (after reification). */
  readonly tracked: boolean;
  readonly alpha: Entry | undefined;
  readonly beta: Entry | undefined;
}

/**
 * Resolves phantom directories (sync-semantics §3.5) in a depth-first post-order walk over alpha
 * and beta together; the ancestor is consulted but does not drive the walk. A phantom becomes a
 * Directory when something tracked lies strictly below it on either side (any non-directory
 * entry except Untracked, or a real Directory) or when the ancestor holds a Directory there;
 * otherwise it becomes Untracked. Inputs are not modified; unchanged subtrees are shared.
 */
export function reifyPhantoms(
  ancestor: Entry | undefined,
  alpha: Entry | undefined,
  beta: Entry | undefined,
): { alpha: Entry | undefined; beta: Entry | undefined } {
  const { alpha: a, beta: b } = reify(ancestor, alpha, beta);
  return { alpha: a, beta: b };
}

function reify(anc: Entry | undefined, a: Entry | undefined, b: Entry | undefined): Reified {
  if (!isDirectoryLike(a) && !isDirectoryLike(b)) {
    const tracked = (a !== undefined && a.kind !== 'untracked') || (b !== undefined && b.kind !== 'untracked');
    return { tracked, alpha: a, beta: b };
  }
  const ancestorContents = contentsOf(anc);
  const alphaContents = contentsOf(a);
  const betaContents = contentsOf(b);
  const alphaChildren = new ChildEdits(alphaContents);
  const betaChildren = new ChildEdits(betaContents);
  let trackedBelow = false;
  for (const name of unionNames(a, b)) {
    const child = reify(ancestorContents.get(name), alphaContents.get(name), betaContents.get(name));
    trackedBelow ||= child.tracked;
    alphaChildren.set(name, child.alpha);
    betaChildren.set(name, child.beta);
  }
  const toDirectory = trackedBelow || anc?.kind === 'directory';
  const alpha = resolve(a, toDirectory, alphaChildren);
  const beta = resolve(b, toDirectory, betaChildren);
  return { tracked: alpha?.kind === 'directory' || beta?.kind === 'directory', alpha, beta };
}

function resolve(e: Entry | undefined, toDirectory: boolean, children: ChildEdits): Entry | undefined {
  if (!isDirectoryLike(e)) return e;
  if (e.kind === 'phantom-directory' && !toDirectory) return { kind: 'untracked' };
  const contents = children.result();
  if (e.kind === 'directory' && contents === e.contents) return e;
  return { kind: 'directory', contents };
}

/** Collects replaced children, copying the contents map only if something changed. */
class ChildEdits {
  private copy: Map<string, Entry> | undefined;

  constructor(private readonly original: ReadonlyMap<string, Entry>) {}

  set(name: string, entry: Entry | undefined): void {
    if (this.original.get(name) === entry) return;
    this.copy ??= new Map(this.original);
    if (entry === undefined) this.copy.delete(name);
    else this.copy.set(name, entry);
  }

  result(): ReadonlyMap<string, Entry> {
    return this.copy ?? this.original;
  }
}
