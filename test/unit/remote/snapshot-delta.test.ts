import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isDirectoryLike, type Change, type Entry, type Snapshot } from '../../../src/model/entry.js';
import { countEntries, entriesEqual, entryAt } from '../../../src/sync/core/entries.js';
import { reconcile } from '../../../src/sync/core/reconcile.js';
import { dirEntry, fileEntry } from '../../../src/sync/core/tree.js';
import { InvalidMessage } from '../../../src/sync/remote/entry-codec.js';
import { encodeTransition, encodeTransitionResult, parseTransition, parseTransitionResult } from '../../../src/sync/remote/messages.js';
import {
  applyReplacements, deriveBaseline, diffTrees, receiveSnapshot, SnapshotSender, type HeldSnapshot,
} from '../../../src/sync/remote/snapshot-delta.js';
import { prng } from '../../helpers/random.js';
import { mutateTree, randomTree } from '../sync-core/fixtures/random.js';

const packr = new Packr({ useRecords: false });
/** What crosses the wire: msgpack bytes, decoded again. */
function overWire(value: unknown): { value: unknown; bytes: number } {
  const bytes = packr.pack(value);
  return { value: packr.unpack(bytes) as unknown, bytes: bytes.byteLength };
}

function snapshotOf(content: Entry | undefined): Snapshot {
  const files = countEntries(content);
  return { content, preservesExecutability: true, decomposesUnicode: false, directories: 0, files, symbolicLinks: 0, totalFileSize: 7 };
}

/** Digests in the random fixtures are 2-byte strings; pad them to a real length for the codec. */
const DIGEST = 2;

/**
 * Wherever the agent's new tree kept a subtree of its previous tree (same object), the daemon's
 * new tree must keep the daemon's previous object at that path.
 */
function assertShared(agentOld: Entry | undefined, agentNew: Entry | undefined, held: Entry | undefined, next: Entry | undefined): number {
  if (agentOld === undefined || agentNew === undefined) return 0;
  if (agentOld === agentNew) {
    expect(next).toBe(held);
    return 1;
  }
  if (!isDirectoryLike(agentOld) || !isDirectoryLike(agentNew) || !isDirectoryLike(held) || !isDirectoryLike(next)) return 0;
  let shared = 0;
  for (const [name, child] of agentNew.contents) {
    shared += assertShared(agentOld.contents.get(name), child, held.contents.get(name), next.contents.get(name));
  }
  return shared;
}

describe('snapshot deltas', () => {
  it('round-trips random edit sequences, sharing unchanged subtrees by identity', () => {
    let shared = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const sender = new SnapshotSender();
      let agentTree: Entry | undefined = randomTree(random, 5, true);
      let held: HeldSnapshot | undefined;
      let agentBefore: Entry | undefined;
      for (let step = 0; step < 6; step++) {
        const message = sender.encode(snapshotOf(agentTree), held?.sequence ?? null);
        const received = receiveSnapshot(overWire(message).value, held, DIGEST);
        expect(received, `seed ${seed} step ${step}`).toBeDefined();
        if (received === undefined) return;
        expect(entriesEqual(received.snapshot.content, agentTree, true), `seed ${seed} step ${step}`).toBe(true);
        expect(received.snapshot.files).toBe(countEntries(agentTree));
        if (held !== undefined) shared += assertShared(agentBefore, agentTree, held.snapshot.content, received.snapshot.content);
        held = received;
        agentBefore = agentTree;
        agentTree = mutateTree(random, agentTree, 5, true);
      }
    }
    expect(shared).toBeGreaterThan(100);
  });

  it('keeps untouched sibling subtrees as the same objects', () => {
    const big = dirEntry({ x: fileEntry('AA'), y: dirEntry({ z: fileEntry('BB') }) });
    const before = dirEntry({ keep: big, change: dirEntry({ f: fileEntry('CC') }) });
    const after = dirEntry({ keep: big, change: dirEntry({ f: fileEntry('DD') }) });
    const replacements = diffTrees(before, after);
    expect(replacements.map(([p]) => p)).toEqual(['change/f']);
    const { content } = applyReplacements(before, 6, replacements);
    expect(entriesEqual(content, after, true)).toBe(true);
    expect(isDirectoryLike(content) && content.contents.get('keep')).toBe(isDirectoryLike(before) && before.contents.get('keep'));
  });

  it('sends a no-op scan of a 20k-entry tree in well under 1 KiB', () => {
    const directories: Record<string, Entry> = {};
    for (let d = 0; d < 200; d++) {
      const files: Record<string, Entry> = {};
      for (let f = 0; f < 100; f++) files[`file-${f}.ts`] = fileEntry(new Uint8Array(20).fill((d * 100 + f) % 251));
      directories[`dir-${d}`] = dirEntry(files);
    }
    const tree = dirEntry(directories);
    const sender = new SnapshotSender();
    const first = overWire(sender.encode(snapshotOf(tree), null));
    expect(first.bytes).toBeGreaterThan(20_000 * 20);
    const held = receiveSnapshot(first.value, undefined, 20);
    expect(held?.nodes).toBe(1 + 200 + 20_000);
    // A rescan builds a new root whose children are the same objects (as the scanner does).
    const rescanned = dirEntry(Object.fromEntries(isDirectoryLike(tree) ? tree.contents : []));
    const noop = overWire(sender.encode(snapshotOf(rescanned), held?.sequence ?? null));
    expect(noop.bytes).toBeLessThan(1024);
    const again = receiveSnapshot(noop.value, held, 20);
    expect(again?.snapshot.content).toBe(held?.snapshot.content);
    expect(again?.nodes).toBe(held?.nodes);
  });

  it('answers a full snapshot when the daemon holds another sequence', () => {
    const sender = new SnapshotSender();
    const tree = dirEntry({ a: fileEntry('AA') });
    const first = sender.encode(snapshotOf(tree), null);
    const second = sender.encode(snapshotOf(tree), first.sequence + 5);
    expect(second.base).toBeNull();
    expect(sender.resend()?.sequence).toBe(second.sequence);
  });

  it('asks for a full snapshot on a sequence or node-count mismatch', () => {
    const sender = new SnapshotSender();
    const tree = dirEntry({ a: fileEntry('AA') });
    const held = receiveSnapshot(sender.encode(snapshotOf(tree), null), undefined, DIGEST);
    expect(held).toBeDefined();
    const delta = sender.encode(snapshotOf(dirEntry({ a: fileEntry('AB') })), held?.sequence ?? null);
    expect(receiveSnapshot({ ...delta, base: 99 }, held, DIGEST)).toBeUndefined();
    expect(receiveSnapshot({ ...delta, nodes: 7 }, held, DIGEST)).toBeUndefined();
    expect(receiveSnapshot(delta, held, DIGEST)?.nodes).toBe(2);
  });

  it('advances both sides to the same base after a transition, whatever its results', () => {
    let advanced = 0;
    let emptyDeltas = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const sender = new SnapshotSender();
      let disk: Entry | undefined = randomTree(random, 4, true);
      let held = receiveSnapshot(overWire(sender.encode(snapshotOf(disk), null)).value, undefined, DIGEST);
      for (let step = 0; step < 5 && held !== undefined; step++) {
        const agentTree: Entry | undefined = disk;
        const [daemonChanges, agentChanges, results] = transitionOf(random, agentTree);
        const reply = encodeTransitionResult(agentChanges, { results, problems: [], missingStagedFiles: false }, sender.advance(agentChanges, results));
        const parsed = parseTransitionResult(overWire(reply).value, daemonChanges, DIGEST);
        expect(parsed.baseline?.from, `seed ${seed} step ${step}`).toBe(held.sequence);
        const derived = deriveBaseline(held.snapshot.content, held.nodes, daemonChanges, parsed.results);
        expect(derived).toBeDefined();
        if (parsed.baseline === undefined || derived === undefined) return;
        advanced += 1;
        held = { sequence: parsed.baseline.sequence, snapshot: { ...held.snapshot, content: derived.content }, nodes: derived.nodes };
        // The disk now holds the results; sometimes it is edited again before the next scan.
        disk = applyReplacements(agentTree, countNodesOf(agentTree), changesAsReplacements(agentChanges, results, agentTree)).content;
        if (random() < 0.5) disk = mutateTree(random, disk, 4, true);
        const message = overWire(sender.encode(snapshotOf(disk), held.sequence));
        const received = receiveSnapshot(message.value, held, DIGEST);
        expect(received, `seed ${seed} step ${step}`).toBeDefined();
        expect(entriesEqual(received?.snapshot.content, disk, true), `seed ${seed} step ${step}`).toBe(true);
        if ((message.value as { replacements: unknown[] }).replacements.length === 0) emptyDeltas += 1;
        held = received;
      }
    }
    expect(advanced).toBe(1000);
    expect(emptyDeltas).toBeGreaterThan(200);
  });

  it('sends well under 1 KiB for the first scan after an initial sync of a 20k-entry tree', () => {
    const tree = bigTree();
    const empty = dirEntry({});
    const sender = new SnapshotSender();
    const held = receiveSnapshot(overWire(sender.encode(snapshotOf(empty), null)).value, undefined, 20);
    if (held === undefined) throw new Error('no snapshot');
    const { betaChanges } = reconcile(undefined, tree, empty, 'two-way-safe');
    const request = overWire(encodeTransition(betaChanges));
    const agentChanges = parseTransition(request.value, 20);
    // The agent's transition created everything: its results are its own objects, equal to the changes' new entries.
    const results = agentChanges.map((change) => change.new);
    const reply = overWire(encodeTransitionResult(agentChanges, { results, problems: [], missingStagedFiles: false }, sender.advance(agentChanges, results)));
    expect(reply.bytes).toBeLessThan(64 * 1024);
    const parsed = parseTransitionResult(reply.value, betaChanges, 20);
    const derived = deriveBaseline(held.snapshot.content, held.nodes, betaChanges, parsed.results);
    if (parsed.baseline === undefined || derived === undefined) throw new Error('no baseline advance');
    const advancedHeld: HeldSnapshot = { sequence: parsed.baseline.sequence, snapshot: snapshotOf(derived.content), nodes: derived.nodes };
    // The next scan finds what the transition made (the scanner's own objects).
    const rescan = overWire(sender.encode(snapshotOf(copyTree(tree)), advancedHeld.sequence));
    expect(rescan.bytes).toBeLessThan(1024);
    const received = receiveSnapshot(rescan.value, advancedHeld, 20);
    expect(received?.nodes).toBe(1 + 200 + 20_000);
    expect(entriesEqual(received?.snapshot.content, tree, true)).toBe(true);
  });

  it('derives no base from results that do not apply, and a later scan then sends everything', () => {
    const tree = dirEntry({ a: fileEntry('AA'), d: dirEntry({ x: fileEntry('BB') }) });
    const nested: Change[] = [{ path: 'd', old: undefined, new: dirEntry({}) }, { path: 'd/x', old: undefined, new: fileEntry('CC') }];
    expect(deriveBaseline(tree, 4, nested, nested.map((c) => c.new))).toBeUndefined();
    const underFile: Change[] = [{ path: 'a/y', old: undefined, new: fileEntry('CC') }];
    expect(deriveBaseline(tree, 4, underFile, [fileEntry('CC')])).toBeUndefined();
    // A failed creation (nothing there, nothing before) replaces nothing.
    const failed: Change[] = [{ path: 'n', old: undefined, new: fileEntry('CC') }];
    expect(deriveBaseline(tree, 4, failed, [undefined])).toEqual({ content: tree, nodes: 4 });
    const sender = new SnapshotSender();
    const first = sender.encode(snapshotOf(tree), null);
    expect(sender.advance(nested, nested.map((c) => c.new))).toBeUndefined();
    // The daemon still names the first sequence: a delta against it.
    expect(sender.encode(snapshotOf(tree), first.sequence).base).toBe(first.sequence);
    // After an advance the daemon did not follow, it gets a full snapshot.
    const advance = sender.advance(failed, [fileEntry('CC')]);
    expect(advance?.from).toBe(first.sequence + 1);
    expect(sender.encode(snapshotOf(tree), first.sequence + 1).base).toBeNull();
  });

  it('rejects malformed deltas', () => {
    const tree = dirEntry({ a: fileEntry('AA'), d: dirEntry({}) });
    const invalid = (replacements: unknown[], base: number | null = 1): unknown => {
      const held: HeldSnapshot = { sequence: 1, snapshot: snapshotOf(tree), nodes: 3 };
      return () => receiveSnapshot({ ...snapshotOf(undefined), sequence: 2, base, replacements, nodes: 3 }, held, DIGEST);
    };
    const cases: [string, unknown[], number | null][] = [
      ['dot-dot path', [['..', null]], 1],
      ['absolute path', [['/etc', null]], 1],
      ['nested replacement', [['d', [0, []]], ['d/x', [2, new Uint8Array(2), false]]], 1],
      ['delete absent', [['zz', null]], 1],
      ['under a file', [['a/x', [4]]], 1],
      ['bad digest length', [['b', [2, new Uint8Array(3), false]]], 1],
      ['full not at root', [['a', null]], null],
      ['name with slash', [['', [0, ['x/y', [4]]]]], null],
      ['name with NUL', [['', [0, ['x\0', [4]]]]], null],
      ['dot name', [['', [0, ['..', [4]]]]], null],
    ];
    for (const [name, replacements, base] of cases) {
      expect(invalid(replacements, base), name).toThrow(InvalidMessage);
    }
  });
});

function bigTree(): Entry {
  const directories: Record<string, Entry> = {};
  for (let d = 0; d < 200; d++) {
    const files: Record<string, Entry> = {};
    for (let f = 0; f < 100; f++) files[`file-${f}.ts`] = fileEntry(new Uint8Array(20).fill((d * 100 + f) % 251));
    directories[`dir-${d}`] = dirEntry(files);
  }
  return dirEntry(directories);
}

/** The same tree in new objects (what another process decodes or scans). */
function copyTree(entry: Entry): Entry {
  if (!isDirectoryLike(entry)) return { ...entry };
  return { kind: entry.kind, contents: new Map([...entry.contents].map(([name, child]) => [name, copyTree(child)])) };
}

function countNodesOf(entry: Entry | undefined): number {
  if (entry === undefined) return 0;
  return 1 + (isDirectoryLike(entry) ? [...entry.contents.values()].reduce((sum, child) => sum + countNodesOf(child), 0) : 0);
}

/**
 * A transition of `tree` towards a random edit of it: the daemon's changes, the agent's (decoded
 * from the request) and the agent's results (its own objects: each change done, or failed and
 * left as before).
 */
function transitionOf(random: () => number, tree: Entry | undefined): [Change[], Change[], (Entry | undefined)[]] {
  const target = mutateTree(random, tree, 4, true);
  const changes: Change[] = diffTrees(tree, target).map(([path, entry]) => ({ path, old: entryAt(tree, path), new: entry }));
  const agentChanges = parseTransition(overWire(encodeTransition(changes)).value, DIGEST);
  const results = agentChanges.map((change) => {
    const result = random() < 0.7 ? change.new : change.old;
    return result === undefined ? undefined : copyTree(result);
  });
  return [changes, agentChanges, results];
}

function changesAsReplacements(changes: readonly Change[], results: readonly (Entry | undefined)[], tree: Entry | undefined): [string, Entry | undefined][] {
  return changes.flatMap((change, index): [string, Entry | undefined][] => {
    const result = results[index];
    return result === undefined && entryAt(tree, change.path) === undefined ? [] : [[change.path, result]];
  });
}
