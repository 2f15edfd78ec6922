import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/model/entry.js';
import { decodeEntry, encodeEntry } from '../../../src/sync/core/codec.js';
import { EntryPacker } from '../../../src/sync/core/entry-packer.js';
import { prng } from '../../helpers/random.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

const file = (byte: number, executable = false, length = 20): Entry => ({ kind: 'file', digest: new Uint8Array(length).fill(byte), executable });
const dir = (contents: Record<string, Entry>, kind: 'directory' | 'phantom-directory' = 'directory'): Entry => ({ kind, contents: new Map(Object.entries(contents)) });

/** A random tree with every entry kind, long and non-ASCII names, and a wide directory. */
function randomTree(next: () => number, depth: number): Entry {
  const contents: Record<string, Entry> = {};
  const count = depth === 0 ? 3 : Math.floor(next() * 6) + 1;
  for (let i = 0; i < count; i++) {
    const roll = next();
    const name = `${roll < 0.1 ? 'ü-'.repeat(20) : ''}n${i}-${Math.floor(next() * 1e6)}`;
    if (roll < 0.3 && depth < 4) contents[name] = randomTree(next, depth + 1);
    else if (roll < 0.35) contents[name] = { kind: 'symlink', target: `t/${'x'.repeat(Math.floor(next() * 300))}` };
    else if (roll < 0.4) contents[name] = { kind: 'untracked' };
    else if (roll < 0.45) contents[name] = { kind: 'problematic', problem: 'unable to read' };
    else if (roll < 0.5 && depth < 4) contents[name] = randomTree(next, 4);
    else contents[name] = file(Math.floor(next() * 256), next() < 0.2, next() < 0.5 ? 20 : 32);
  }
  return dir(contents, next() < 0.1 && depth > 0 ? 'phantom-directory' : 'directory');
}

describe('EntryPacker', () => {
  it('writes msgpack that decodes to what encodeEntry returns, for every kind and size class', () => {
    const packer = new EntryPacker();
    const wide: Record<string, Entry> = {};
    for (let i = 0; i < 70_000; i++) wide[`f${i}`] = file(i & 0xff);
    // Deep equality over 70,000 entries is slow: compare the JSON text for the wide directory.
    expect(JSON.stringify(packr.unpack(packer.pack(dir(wide))))).toBe(JSON.stringify(encodeEntry(dir(wide))));
    const trees: (Entry | undefined)[] = [undefined, file(1), { kind: 'untracked' }, dir({}), randomTree(prng(7), 0)];
    for (const tree of trees) {
      expect(packr.unpack(packer.pack(tree))).toEqual(encodeEntry(tree));
      expect(decodeEntry(packr.unpack(packer.pack(tree)))).toEqual(tree);
    }
  });

  it('packs a map with the tree as its last field (the archive layout)', () => {
    const tree = randomTree(prng(3), 0);
    const bytes = new EntryPacker().packMap({ version: 1 }, 'content', tree);
    expect(packr.unpack(bytes)).toEqual({ version: 1, content: encodeEntry(tree) });
  });

  it('gives the same bytes with or without memoised subtrees after changes that share structure', () => {
    const next = prng(11);
    const warm = new EntryPacker();
    let tree = randomTree(next, 0);
    for (let round = 0; round < 20; round++) {
      const warmBytes = warm.pack(tree);
      expect(Buffer.from(warmBytes).equals(Buffer.from(new EntryPacker().pack(tree)))).toBe(true);
      // Replace one random child of the root: the other children stay shared by identity.
      if (tree.kind !== 'directory') throw new Error('expected a directory root');
      const contents = new Map(tree.contents);
      const names = [...contents.keys()];
      const victim = names[Math.floor(next() * names.length)] ?? 'x';
      if (next() < 0.5) contents.delete(victim);
      else contents.set(victim, randomTree(next, 2));
      tree = { kind: 'directory', contents };
    }
  });
});
