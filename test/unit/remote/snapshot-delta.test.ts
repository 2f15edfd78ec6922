import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isDirectoryLike, type Entry, type Snapshot } from '../../../src/model/entry.js';
import { countEntries, entriesEqual } from '../../../src/sync/core/entries.js';
import { dirEntry, fileEntry } from '../../../src/sync/core/tree.js';
import { InvalidMessage } from '../../../src/sync/remote/entry-codec.js';
import { applyReplacements, diffTrees, receiveSnapshot, SnapshotSender, type HeldSnapshot } from '../../../src/sync/remote/snapshot-delta.js';
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
