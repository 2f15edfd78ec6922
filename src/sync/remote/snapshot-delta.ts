import * as z from 'zod';
import type { Change, Entry, Snapshot } from '../../model/entry.js';
import { isDirectoryLike, joinPath } from '../../model/entry.js';
import { entriesEqual, entryAt } from '../core/entries.js';
import {
  countNodes, decodeWireEntry, HARD_MAX_NODES, encodeWireEntry, EntryLimits, InvalidMessage, validPath, type WireEntry,
} from './entry-codec.js';

/**
 * Snapshots travel as structural deltas (issue 5 §2): the agent remembers the last tree it
 * sent (sequence n); a scan request names the sequence the daemon holds; when they match, only
 * `{path, entry-or-absent}` replacements of what changed are sent, found by walking both trees
 * and skipping subtrees that are the same object (the scanner shares unchanged subtrees), so a
 * no-op costs O(changed). The daemon applies them onto its copy, sharing every unchanged
 * subtree by identity. `nodes` (every entry of the new tree) is a cheap consistency check.
 */
export interface WireSnapshot extends Omit<Snapshot, 'content'> {
  readonly sequence: number;
  /** The sequence the replacements apply to; null = a full snapshot (one replacement at ""). */
  readonly base: number | null;
  readonly replacements: readonly (readonly [string, WireEntry | null])[];
  readonly nodes: number;
}

type Replacement = readonly [string, Entry | undefined];

/** Structural difference: replacements that turn `old` into `next` (paths unique, none nested). */
export function diffTrees(old: Entry | undefined, next: Entry | undefined): Replacement[] {
  const out: Replacement[] = [];
  walk(old, next, '', out);
  return out;
}

function walk(old: Entry | undefined, next: Entry | undefined, path: string, out: Replacement[]): void {
  if (old === next) return;
  if (old !== undefined && next !== undefined) {
    if (isDirectoryLike(old) && isDirectoryLike(next) && old.kind === next.kind) {
      if (old.contents === next.contents) return;
      for (const [name, child] of next.contents) walk(old.contents.get(name), child, joinPath(path, name), out);
      for (const name of old.contents.keys()) {
        if (!next.contents.has(name)) out.push([joinPath(path, name), undefined]);
      }
      return;
    }
    if (!isDirectoryLike(old) && !isDirectoryLike(next) && entriesEqual(old, next, false)) return;
  }
  out.push([path, next]);
}

/** Agent side: remembers the last snapshot sent and encodes the next one against it. */
export class SnapshotSender {
  private last: { readonly sequence: number; readonly snapshot: Snapshot; readonly nodes: number } | undefined;
  private counter = 0;

  /** Encodes `snapshot`; a delta when the daemon holds (`have`) what was sent last. */
  encode(snapshot: Snapshot, have: number | null): WireSnapshot {
    const last = this.last;
    const sequence = ++this.counter;
    if (last === undefined || have !== last.sequence) {
      const nodes = countNodes(snapshot.content);
      this.last = { sequence, snapshot, nodes };
      return wire(snapshot, sequence, null, [['', encodeWireEntry(snapshot.content)]], nodes);
    }
    const replacements = diffTrees(last.snapshot.content, snapshot.content);
    let nodes = last.nodes;
    const encoded: (readonly [string, WireEntry | null])[] = [];
    for (const [path, entry] of replacements) {
      nodes += countNodes(entry) - countNodes(entryAt(last.snapshot.content, path));
      encoded.push([path, encodeWireEntry(entry)]);
    }
    this.last = { sequence, snapshot, nodes };
    return wire(snapshot, sequence, last.sequence, encoded, nodes);
  }

  /**
   * After a transition: the tree last sent, with what the transition left at each changed path
   * (its results), becomes the base of the next delta under a new sequence, so that the next
   * scan does not send again what the transition reported (after an initial sync: the whole
   * tree). The daemon derives the same tree from the same results (deriveBaseline) when it holds
   * `from`; when it does not, its next scan request names another sequence and gets a full
   * snapshot. Undefined when nothing was sent yet or the results do not apply.
   */
  advance(changes: readonly Change[], results: readonly (Entry | undefined)[]): BaselineAdvance | undefined {
    const last = this.last;
    if (last === undefined) return undefined;
    const derived = deriveBaseline(last.snapshot.content, last.nodes, changes, results);
    if (derived === undefined) return undefined;
    const sequence = ++this.counter;
    this.last = { sequence, snapshot: { ...last.snapshot, content: derived.content }, nodes: derived.nodes };
    return { from: last.sequence, sequence };
  }

  /** The last snapshot sent, in full (the daemon lost track); undefined before any scan. */
  resend(): WireSnapshot | undefined {
    const last = this.last;
    if (last === undefined) return undefined;
    return wire(last.snapshot, last.sequence, null, [['', encodeWireEntry(last.snapshot.content)]], last.nodes);
  }
}

function wire(snapshot: Snapshot, sequence: number, base: number | null, replacements: WireSnapshot['replacements'], nodes: number): WireSnapshot {
  return {
    sequence, base, replacements, nodes,
    preservesExecutability: snapshot.preservesExecutability,
    decomposesUnicode: snapshot.decomposesUnicode,
    directories: snapshot.directories,
    files: snapshot.files,
    symbolicLinks: snapshot.symbolicLinks,
    totalFileSize: snapshot.totalFileSize,
  };
}


/** What the daemon holds: the tree of sequence `sequence` and its node count. */
export interface HeldSnapshot {
  readonly sequence: number;
  readonly snapshot: Snapshot;
  readonly nodes: number;
}

/**
 * Daemon side: validates a WireSnapshot from the agent and applies it onto `held`. Returns
 * undefined when the delta does not fit what is held (sequence or node count mismatch: ask
 * for a full snapshot). Throws InvalidMessage for anything malformed.
 */
export function receiveSnapshot(value: unknown, held: HeldSnapshot | undefined, digestLength: number): HeldSnapshot | undefined {
  const message = parseWireSnapshot(value);
  const limits = new EntryLimits(digestLength);
  const replacements: Replacement[] = [];
  for (const item of message.replacements) {
    if (!Array.isArray(item) || item.length !== 2) throw new InvalidMessage('replacement is not a [path, entry] pair');
    const fields: readonly unknown[] = item;
    const path = validPath(fields[0], 'replacement path');
    replacements.push([path, decodeWireEntry(fields[1], limits, path)]);
  }
  let content: Entry | undefined;
  let nodes: number;
  if (message.base === null) {
    const only = replacements[0];
    if (replacements.length !== 1 || only === undefined || only[0] !== '') throw new InvalidMessage('full snapshot is not one replacement at the root');
    content = only[1];
    nodes = countNodes(content);
  } else {
    if (held === undefined || message.base !== held.sequence) return undefined;
    ({ content, nodes } = applyReplacements(held.snapshot.content, held.nodes, replacements));
  }
  if (nodes > HARD_MAX_NODES) throw new InvalidMessage(`snapshot holds more than ${HARD_MAX_NODES} entries`);
  if (nodes !== message.nodes) return undefined;
  const claimed = message.directories + message.files + message.symbolicLinks;
  if (claimed > nodes) throw new InvalidMessage(`snapshot claims ${claimed} entries but holds ${nodes}`);
  const snapshot: Snapshot = {
    content,
    preservesExecutability: message.preservesExecutability,
    decomposesUnicode: message.decomposesUnicode,
    directories: message.directories,
    files: message.files,
    symbolicLinks: message.symbolicLinks,
    totalFileSize: message.totalFileSize,
  };
  return { sequence: message.sequence, snapshot, nodes };
}

/** The agent's new delta base after a transition (SnapshotSender.advance): derived from `from` as sequence `sequence`. */
export interface BaselineAdvance {
  readonly from: number;
  readonly sequence: number;
}

/**
 * `content` (of `nodes` entries) with each change's path replaced by its transition result
 * (what is on disk there now); a result absent where nothing was is no replacement. Undefined
 * when the changes do not apply as replacements (nested or repeated paths, a parent that is not
 * a directory): the agent (SnapshotSender.advance) and the daemon decide alike, as both run this
 * on the same tree and the same results.
 */
export function deriveBaseline(
  content: Entry | undefined, nodes: number, changes: readonly Change[], results: readonly (Entry | undefined)[],
): { content: Entry | undefined; nodes: number } | undefined {
  if (results.length !== changes.length) return undefined;
  const replacements: Replacement[] = [];
  changes.forEach((change, index) => {
    const result = results[index];
    if (result !== undefined || entryAt(content, change.path) !== undefined) replacements.push([change.path, result]);
  });
  try {
    return applyReplacements(content, nodes, replacements);
  } catch (error) {
    if (error instanceof InvalidMessage) return undefined;
    throw error;
  }
}

interface TrieNode {
  replaced: boolean;
  entry: Entry | undefined;
  readonly children: Map<string, TrieNode>;
}

/**
 * Applies replacements onto `root`, copying only the directories on their paths (every other
 * subtree is shared). Throws InvalidMessage for duplicate or nested paths, a parent that is not
 * a directory, or a deletion of something absent.
 */
export function applyReplacements(root: Entry | undefined, nodes: number, replacements: readonly Replacement[]): { content: Entry | undefined; nodes: number } {
  if (replacements.length === 0) return { content: root, nodes };
  const trie: TrieNode = { replaced: false, entry: undefined, children: new Map() };
  for (const [path, entry] of replacements) insert(trie, path, entry);
  const counter = { nodes };
  const content = applyNode(root, trie, '', counter);
  return { content, nodes: counter.nodes };
}

function insert(trie: TrieNode, path: string, entry: Entry | undefined): void {
  let node = trie;
  for (const name of path === '' ? [] : path.split('/')) {
    if (node.replaced) throw new InvalidMessage(`nested replacement at ${JSON.stringify(path)}`);
    let child = node.children.get(name);
    if (child === undefined) {
      child = { replaced: false, entry: undefined, children: new Map() };
      node.children.set(name, child);
    }
    node = child;
  }
  if (node.replaced || node.children.size > 0) throw new InvalidMessage(`duplicate or nested replacement at ${JSON.stringify(path)}`);
  node.replaced = true;
  node.entry = entry;
}

function applyNode(current: Entry | undefined, node: TrieNode, path: string, counter: { nodes: number }): Entry | undefined {
  if (node.replaced) {
    if (current === undefined && node.entry === undefined) throw new InvalidMessage(`deletion of absent ${JSON.stringify(path)}`);
    counter.nodes += countNodes(node.entry) - countNodes(current);
    return node.entry;
  }
  if (!isDirectoryLike(current)) throw new InvalidMessage(`replacement under a non-directory at ${JSON.stringify(path)}`);
  const contents = new Map(current.contents);
  for (const [name, child] of node.children) {
    const updated = applyNode(current.contents.get(name), child, joinPath(path, name), counter);
    if (updated === undefined) contents.delete(name);
    else contents.set(name, updated);
  }
  return { kind: current.kind, contents };
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const wireSnapshotSchema = z.object({
  sequence: count,
  base: count.nullable(),
  replacements: z.array(z.unknown()),
  nodes: count,
  preservesExecutability: z.boolean(),
  decomposesUnicode: z.boolean(),
  directories: count,
  files: count,
  symbolicLinks: count,
  totalFileSize: count,
});

function parseWireSnapshot(value: unknown): z.infer<typeof wireSnapshotSchema> {
  const parsed = wireSnapshotSchema.safeParse(value);
  if (!parsed.success) throw new InvalidMessage(`malformed snapshot: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`);
  return parsed.data;
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
