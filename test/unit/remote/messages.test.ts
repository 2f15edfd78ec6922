import { describe, expect, it } from 'vitest';
import { resolveEndpointConfiguration, emptySyncConfiguration } from '../../../src/model/configuration.js';
import type { Change } from '../../../src/model/entry.js';
import { dirEntry, fileEntry } from '../../../src/sync/core/tree.js';
import { decodeWireEntry, encodeWireEntry, EntryLimits, InvalidMessage, validPath } from '../../../src/sync/remote/entry-codec.js';
import {
  decodeSignature, encodeConnect, encodeSignature, encodeTransitionResult, parseConnect, parseStage, parseStageResult,
  parseSupply, parseTransition, parseTransitionResult,
} from '../../../src/sync/remote/messages.js';
import { TransmissionChecker } from '../../../src/sync/remote/transmission.js';
import { transmissionValue } from '../../helpers/transmission-values.js';
import { signatureOfBytes } from '../../../src/sync/rsync/signature.js';

const digest = (byte: number, length = 20): Uint8Array => new Uint8Array(length).fill(byte);
const limits = (): EntryLimits => new EntryLimits(20);

describe('entry validation', () => {
  it('round-trips every kind', () => {
    const tree = dirEntry({ f: fileEntry(digest(1), true), l: { kind: 'symlink', target: '../x' }, u: { kind: 'untracked' },
      p: { kind: 'problematic', problem: 'unable to read' }, ph: { kind: 'phantom-directory', contents: new Map() } });
    expect(decodeWireEntry(encodeWireEntry(tree), limits())).toEqual(tree);
    expect(decodeWireEntry(null, limits())).toBeUndefined();
  });

  it.each([
    ['dot-dot name', [0, ['..', [4]]]],
    ['dot name', [0, ['.', [4]]]],
    ['separator in name', [0, ['a/b', [4]]]],
    ['absolute name', [0, ['/etc', [4]]]],
    ['NUL in name', [0, ['a\0b', [4]]]],
    ['empty name', [0, ['', [4]]]],
    ['duplicate name', [0, ['a', [4], 'a', [4]]]],
    ['short digest', [2, digest(1, 19), false]],
    ['long digest', [2, digest(1, 32), false]],
    ['digest as string', [2, 'abcd', false]],
    ['non-boolean executable', [2, digest(1), 1]],
    ['unknown kind', [9]],
    ['extra field', [4, 'x']],
    ['empty symlink target', [3, '']],
    ['huge symlink target', [3, 'x'.repeat(20_000)]],
    ['huge problem', [5, 'x'.repeat(20_000)]],
    ['absent content', [0, ['a', null]]],
    ['odd contents', [0, ['a']]],
  ])('rejects %s', (_name, value) => {
    expect(() => decodeWireEntry(value, limits())).toThrow(InvalidMessage);
  });

  it('bounds the number of entries and the depth', () => {
    const wide = [0, Array.from({ length: 20 }, (_, i) => [`n${i}`, [4]]).flat()];
    expect(() => decodeWireEntry(wide, new EntryLimits(20, 10))).toThrow(/too many entries/);
    let deep: unknown = [4];
    for (let i = 0; i < 3000; i++) deep = [0, ['d', deep]];
    expect(() => decodeWireEntry(deep, limits())).toThrow(/too deep/);
  });

  it('validates paths', () => {
    expect(validPath('')).toBe('');
    expect(validPath('a/b')).toBe('a/b');
    for (const bad of ['/a', 'a/', 'a//b', '../a', 'a/./b', 'a\0', 7]) expect(() => validPath(bad)).toThrow(InvalidMessage);
  });
});

describe('message validation', () => {
  it('checks stage requests and results', () => {
    const request = [{ path: 'a', digest: digest(1) }, { path: 'b/c', digest: digest(2) }, { path: 'd', digest: digest(3) }];
    expect(parseStage({ files: request.map((f) => [f.path, f.digest]) }, 20)).toEqual(request);
    expect(() => parseStage({ files: [['a', digest(1, 16)]] }, 20)).toThrow(/expected 20/);
    expect(() => parseStage({ files: [['../a', digest(1)]] }, 20)).toThrow(InvalidMessage);
    expect(() => parseStage({ files: [['a', digest(1)], 'b'] }, 20)).toThrow(/element 1 is not a list of 2 fields/);
    expect(() => parseStage({ files: [['a', digest(1), 3]] }, 20)).toThrow(/element 0 is not a list of 2 fields/);
    expect(() => parseStage({ files: [[7, digest(1)]] }, 20)).toThrow(/path is not a string/);
    expect(() => parseStage({ files: [['a', 'digest']] }, 20)).toThrow(/digest of "a" is not bytes/);
    const signature = encodeSignature(signatureOfBytes(new Uint8Array(5000).fill(7)));
    expect(parseStageResult({ paths: ['a', 'd'], signatures: [signature, signature] }, request).paths).toEqual(['a', 'd']);
    expect(() => parseStageResult({ paths: ['d', 'a'], signatures: [signature, signature] }, request)).toThrow(/ordered subset/);
    expect(() => parseStageResult({ paths: ['x'], signatures: [signature] }, request)).toThrow(/ordered subset/);
    expect(() => parseStageResult({ paths: ['a', 'd'], signatures: [signature] }, request)).toThrow(/2 paths but 1 signatures/);
  });

  it('checks signatures', () => {
    const good = signatureOfBytes(new Uint8Array(10_000).fill(3));
    expect(encodeSignature(decodeSignature(encodeSignature(good)))).toEqual(encodeSignature(good));
    expect(decodeSignature(encodeSignature(good)).hashes.length).toBe(good.hashes.length);
    const [blockSize, last, weak, strong] = encodeSignature(good) as [number, number, number[], Uint8Array];
    expect(() => decodeSignature([blockSize, last, weak, strong.subarray(1)])).toThrow(/strong hashes/);
    expect(() => decodeSignature([3, last, weak, strong])).toThrow(/block size 3/);
    expect(() => decodeSignature([blockSize, blockSize + 1, weak, strong])).toThrow(/last block size/);
    expect(() => decodeSignature([blockSize, last, weak.map(() => -1), strong])).toThrow(/weak hash/);
    expect(() => decodeSignature('x')).toThrow(/malformed signature: not a 4-element array/);
    expect(() => decodeSignature([0, 0, [], 'x'])).toThrow(/strong hashes are not bytes/);
    expect(() => decodeSignature([-1, 0, [], new Uint8Array(0)])).toThrow(/block sizes are not counts/);
    expect(() => decodeSignature([1024, 1024, ['a'], new Uint8Array(20)])).toThrow(/weak hash is not a number/);
    expect(decodeSignature([0, 0, [], new Uint8Array(0)])).toEqual({ blockSize: 0, lastBlockSize: 0, hashes: [] });
    expect(() => parseSupply({ stream: 3, paths: ['a'], signatures: [] })).toThrow(/1 paths but 0 signatures/);
  });

  it('checks transmissions against the base signatures', () => {
    const signature = signatureOfBytes(new Uint8Array(4096).fill(1));
    const checker = new TransmissionChecker([signature]);
    const wire = (t: Parameters<typeof transmissionValue>[0]): unknown => transmissionValue(t);
    expect(checker.check(wire({ kind: 'operation', operation: { kind: 'blocks', start: 0, count: 1 }, expectedSize: 9 })))
      .toEqual({ kind: 'operation', operation: { kind: 'blocks', start: 0, count: 1 }, expectedSize: 9 });
    expect(() => checker.check(wire({ kind: 'operation', operation: { kind: 'blocks', start: 0, count: 9 } }))).toThrow(/outside a base/);
    expect(() => checker.check([0, new Uint8Array(65_537), null])).toThrow(/data operation of 65537 bytes/);
    expect(() => checker.check([0, new Uint8Array(0), null])).toThrow(/data operation of 0 bytes/);
    expect(() => checker.check([1, -1, 1, null])).toThrow(/malformed block/);
    expect(checker.complete).toBe(false);
    expect(checker.check(wire({ kind: 'done' }))).toEqual({ kind: 'done' });
    expect(checker.complete).toBe(true);
    expect(() => checker.check(wire({ kind: 'done' }))).toThrow(/beyond the requested paths/);
  });

  it('checks transition requests and results', () => {
    const changes: Change[] = [
      { path: 'a', old: undefined, new: fileEntry(digest(1)) },
      { path: 'b', old: fileEntry(digest(2)), new: undefined },
    ];
    const result = { results: [changes[0]?.new, fileEntry(digest(2))], problems: [{ path: 'b', error: 'busy' }], missingStagedFiles: false };
    const parsed = parseTransitionResult(encodeTransitionResult(changes, result), changes, 20);
    expect(parsed.results[0]).toBe(changes[0]?.new);
    expect(parsed.results[1]).toBe(changes[1]?.old);
    expect(parsed.problems).toEqual(result.problems);
    expect(() => parseTransitionResult({ results: [0], problems: [], missingStagedFiles: false }, changes, 20)).toThrow(/1 results for 2 changes/);
    expect(() => parseTransitionResult({ results: [0, 0], problems: [['../x', 'e']], missingStagedFiles: false }, changes, 20)).toThrow(InvalidMessage);
    expect(() => parseTransition({ changes: [['a/../..', null, null]] }, 20)).toThrow(InvalidMessage);
    expect(() => parseTransition({ changes: [['a', null]] }, 20)).toThrow(/element 0 is not a list of 3 fields/);
  });

  it('checks connect requests', () => {
    const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration());
    const params = { sessionId: 'sync_abc', side: 'beta' as const, root: '~/project', configuration, readOnly: false };
    expect(parseConnect(encodeConnect(params))).toEqual(params);
    expect(() => parseConnect(encodeConnect({ ...params, sessionId: '../../etc' }))).toThrow(InvalidMessage);
    expect(() => parseConnect({ ...(encodeConnect(params) as object), extra: 1 })).toThrow(InvalidMessage);
  });
});
