import * as z from 'zod';
import {
  COMPRESSION_ALGORITHMS, HASH_ALGORITHMS, IGNORE_SYNTAXES, PERMISSIONS_MODES, PROBE_MODES, SCAN_MODES, STAGE_MODES,
  SYMLINK_MODES, SYNC_MODES, WATCH_MODES, type ResolvedEndpointConfiguration,
} from '../../model/configuration.js';
import type { Change, Entry, Problem } from '../../model/entry.js';
import type { StagingProgress } from '../../model/session.js';
import { entriesEqual } from '../core/entries.js';
import type { StageRequest, TransitionResult } from '../endpoint.js';
import { validateSignature } from '../rsync/validate.js';
import type { BlockHash, Signature } from '../rsync/types.js';
import {
  boundedString, decodeWireEntry, encodeWireEntry, EntryLimits, HARD_MAX_NODES, InvalidMessage, MAX_PATH_LENGTH,
  MAX_PROBLEM_LENGTH, validPath, type WireEntry,
} from './entry-codec.js';
import { isCount, type BaselineAdvance } from './snapshot-delta.js';

/**
 * Params and results of the endpoint Channel's methods, and their validators. Every value from
 * the peer is `unknown` until parsed here; a failure throws InvalidMessage (callers turn it into
 * MUTAGEN_PROTOCOL `invalid <what> from <peer>: <why>`).
 *
 * Methods (daemon → agent): connect, poll, scan, resend-snapshot, stage, supply, receive,
 * transition, shutdown, discard, and quiet (a side request answered while another call runs).
 * Event (agent → daemon): staging-progress.
 */

/** The endpoint's Channel is always the first stream the daemon opens. */
export const CHANNEL_STREAM_ID = 1;
const MAX_LIST = HARD_MAX_NODES;
const MAX_STRING = 4096;
const SHA1_LENGTH = 20;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidMessage(`malformed ${what}: ${z.prettifyError(parsed.error).replaceAll('\n', '; ').slice(0, 512)}`);
  return parsed.data;
}

/**
 * The elements of a list with one element per file (stage and transition requests), checked by
 * hand: as z.tuple() elements they cost several microseconds each, on the path of every cycle.
 * Each must be an array of `length` fields; `take` checks and converts them.
 */
function perFile<T>(items: readonly unknown[], length: number, what: string, take: (fields: readonly unknown[]) => T): T[] {
  return items.map((item, index) => {
    if (!Array.isArray(item) || item.length !== length) throw new InvalidMessage(`malformed ${what}: element ${index} is not a list of ${length} fields`);
    return take(item);
  });
}

const perFileList = z.array(z.unknown()).max(MAX_LIST);

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const shortString = z.string().max(MAX_STRING);

const configurationSchema = z.strictObject({
  mode: z.enum(SYNC_MODES),
  hash: z.enum(HASH_ALGORITHMS),
  maxEntryCount: count,
  maxStagingFileSize: count,
  probeMode: z.enum(PROBE_MODES),
  scanMode: z.enum(SCAN_MODES),
  stageMode: z.enum(STAGE_MODES),
  symlinkMode: z.enum(SYMLINK_MODES),
  ignoreSyntax: z.enum(IGNORE_SYNTAXES),
  ignores: z.array(shortString).max(100_000),
  ignoreVcs: z.boolean(),
  permissionsMode: z.enum(PERMISSIONS_MODES),
  watchMode: z.enum(WATCH_MODES),
  watchPollingInterval: count,
  defaultFileMode: count,
  defaultDirectoryMode: count,
  defaultOwner: z.string().max(256).nullable().transform((v) => v ?? undefined),
  defaultGroup: z.string().max(256).nullable().transform((v) => v ?? undefined),
  compression: z.enum(COMPRESSION_ALGORITHMS).nullable().transform((v) => v ?? undefined),
});

const connectSchema = z.strictObject({
  sessionId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  side: z.enum(['alpha', 'beta']),
  root: z.string().min(1).max(MAX_PATH_LENGTH).refine((s) => !s.includes('\0'), 'root contains NUL'),
  configuration: configurationSchema,
  readOnly: z.boolean(),
});

export interface ConnectParams {
  readonly sessionId: string;
  readonly side: 'alpha' | 'beta';
  readonly root: string;
  readonly configuration: ResolvedEndpointConfiguration;
  readonly readOnly: boolean;
}

export function encodeConnect(params: ConnectParams): unknown {
  const c = params.configuration;
  return { ...params, configuration: { ...c, ignores: [...c.ignores], defaultOwner: c.defaultOwner ?? null, defaultGroup: c.defaultGroup ?? null, compression: c.compression ?? null } };
}

export function parseConnect(value: unknown): ConnectParams {
  return parse(connectSchema, value, 'connect request');
}

export function parseConnectResult(value: unknown): { readonly root: string } {
  return parse(z.strictObject({ root: z.string().max(MAX_PATH_LENGTH) }), value, 'connect result');
}

export function parseScanParams(value: unknown): { readonly full: boolean; readonly have: number | null } {
  return parse(z.strictObject({ full: z.boolean(), have: count.nullable() }), value, 'scan request');
}

/** `retry` passes through; a snapshot stays unknown here (see receiveSnapshot). */
export function parseScanResult(value: unknown): { readonly kind: 'snapshot'; readonly snapshot: unknown } | { readonly kind: 'retry'; readonly reason: string } {
  return parse(z.union([
    z.strictObject({ kind: z.literal('snapshot'), snapshot: z.unknown() }),
    z.strictObject({ kind: z.literal('retry'), reason: z.string().max(MAX_PROBLEM_LENGTH) }),
  ]), value, 'scan result');
}

export function parseStream(value: unknown, what: string): { readonly stream: number } {
  return parse(z.strictObject({ stream: count }), value, what);
}

// --- stage -----------------------------------------------------------------------------------

export function encodeStage(files: readonly StageRequest[]): unknown {
  return { files: files.map((f) => [f.path, f.digest]) };
}

export function parseStage(value: unknown, digestLength: number): StageRequest[] {
  const { files } = parse(z.strictObject({ files: perFileList }), value, 'stage request');
  return perFile(files, 2, 'stage request', ([path, digest]) => {
    const at = validPath(path);
    if (!(digest instanceof Uint8Array)) throw new InvalidMessage(`digest of ${JSON.stringify(at)} is not bytes`);
    if (digest.byteLength !== digestLength) throw new InvalidMessage(`digest of ${JSON.stringify(at)} has ${digest.byteLength} bytes, expected ${digestLength}`);
    return { path: at, digest: new Uint8Array(digest) };
  });
}

export function encodeStageResult(paths: readonly string[], signatures: readonly Signature[]): unknown {
  return { paths, signatures: signatures.map(encodeSignature) };
}

/** Paths must be an ordered subset of the request, with one valid signature each. */
export function parseStageResult(value: unknown, request: readonly StageRequest[]): { paths: string[]; signatures: Signature[] } {
  const result = parse(z.strictObject({ paths: z.array(z.string()).max(MAX_LIST), signatures: z.array(z.unknown()).max(MAX_LIST) }), value, 'stage result');
  if (result.paths.length !== result.signatures.length) throw new InvalidMessage(`${result.paths.length} paths but ${result.signatures.length} signatures`);
  let next = 0;
  for (const path of result.paths) {
    while (next < request.length && request[next]?.path !== path) next++;
    if (next === request.length) throw new InvalidMessage(`path ${JSON.stringify(path.slice(0, 256))} is not an ordered subset of the request`);
    next++;
  }
  return { paths: result.paths, signatures: result.signatures.map(decodeSignature) };
}

// --- signatures ------------------------------------------------------------------------------

/** Wire form: [blockSize, lastBlockSize, weak hashes, strong hashes concatenated (20 bytes each)]. */
export function encodeSignature(signature: Signature): unknown {
  const strong = new Uint8Array(signature.hashes.length * SHA1_LENGTH);
  signature.hashes.forEach((h, i) => strong.set(h.strong, i * SHA1_LENGTH));
  return [signature.blockSize, signature.lastBlockSize, signature.hashes.map((h) => h.weak), strong];
}

/** Validated by hand (no schema): a stage result carries one signature per file, often 20,000. */
export function decodeSignature(value: unknown): Signature {
  if (!Array.isArray(value) || value.length !== 4) throw new InvalidMessage('malformed signature: not a 4-element array');
  const fields: readonly unknown[] = value;
  const [blockSize, lastBlockSize, weak, strong] = fields;
  if (!isCount(blockSize) || !isCount(lastBlockSize)) throw new InvalidMessage('malformed signature: block sizes are not counts');
  if (!Array.isArray(weak) || weak.length > MAX_LIST) throw new InvalidMessage('malformed signature: weak hashes are not a list');
  if (!(strong instanceof Uint8Array)) throw new InvalidMessage('malformed signature: strong hashes are not bytes');
  const weakHashes: readonly unknown[] = weak;
  if (strong.byteLength !== weakHashes.length * SHA1_LENGTH) throw new InvalidMessage('signature strong hashes do not match the weak hash count');
  const hashes: BlockHash[] = new Array<BlockHash>(weakHashes.length);
  for (let i = 0; i < weakHashes.length; i++) {
    const w = weakHashes[i];
    if (typeof w !== 'number') throw new InvalidMessage('malformed signature: a weak hash is not a number');
    hashes[i] = { weak: w, strong: strong.slice(i * SHA1_LENGTH, (i + 1) * SHA1_LENGTH) };
  }
  const signature: Signature = { blockSize, lastBlockSize, hashes };
  try {
    validateSignature(signature);
  } catch (error) {
    throw new InvalidMessage(error instanceof Error ? error.message : String(error));
  }
  return signature;
}

// --- supply ----------------------------------------------------------------------------------

export function encodeSupply(stream: number, paths: readonly string[], signatures: readonly Signature[]): unknown {
  return { stream, paths, signatures: signatures.map(encodeSignature) };
}

export function parseSupply(value: unknown): { stream: number; paths: string[]; signatures: Signature[] } {
  const request = parse(z.strictObject({ stream: count, paths: z.array(z.string()).max(MAX_LIST), signatures: z.array(z.unknown()).max(MAX_LIST) }), value, 'supply request');
  if (request.paths.length !== request.signatures.length) throw new InvalidMessage(`${request.paths.length} paths but ${request.signatures.length} signatures`);
  return { stream: request.stream, paths: request.paths.map((p) => validPath(p)), signatures: request.signatures.map(decodeSignature) };
}

// --- transition ------------------------------------------------------------------------------

export function encodeTransition(changes: readonly Change[]): unknown {
  return { changes: changes.map((c) => [c.path, encodeWireEntry(c.old), encodeWireEntry(c.new)]) };
}

export function parseTransition(value: unknown, digestLength: number): Change[] {
  const { changes } = parse(z.strictObject({ changes: perFileList }), value, 'transition request');
  const limits = new EntryLimits(digestLength);
  return perFile(changes, 3, 'transition request', ([path, old, next]) => {
    const at = validPath(path, 'change path');
    return { path: at, old: decodeWireEntry(old, limits, at), new: decodeWireEntry(next, limits, at) };
  });
}

const SAME_AS_NEW = 0;
const SAME_AS_OLD = 1;

/** Results equal to the change's new or old entry travel as a marker (and keep its identity). */
export function encodeTransitionResult(changes: readonly Change[], result: TransitionResult, baseline?: BaselineAdvance): unknown {
  const results = result.results.map((entry, i): WireEntry | number | null => {
    const change = changes[i];
    if (change !== undefined && entry !== undefined) {
      if (entry === change.new || entriesEqual(entry, change.new, true)) return SAME_AS_NEW;
      if (entry === change.old || entriesEqual(entry, change.old, true)) return SAME_AS_OLD;
    }
    return encodeWireEntry(entry);
  });
  return {
    results, problems: result.problems.map((p) => [p.path, p.error]), missingStagedFiles: result.missingStagedFiles,
    baseline: baseline === undefined ? null : [baseline.from, baseline.sequence],
  };
}

export function parseTransitionResult(value: unknown, changes: readonly Change[], digestLength: number): TransitionResult & { readonly baseline?: BaselineAdvance } {
  const result = parse(z.strictObject({
    results: z.array(z.unknown()).max(MAX_LIST),
    problems: z.array(z.tuple([z.string(), z.string()])).max(MAX_LIST),
    missingStagedFiles: z.boolean(),
    baseline: z.tuple([count, count]).nullable().optional(),
  }), value, 'transition result');
  if (result.results.length !== changes.length) throw new InvalidMessage(`${result.results.length} results for ${changes.length} changes`);
  const limits = new EntryLimits(digestLength);
  const results = result.results.map((item, i): Entry | undefined => {
    const change = changes[i] as Change;
    if (item === SAME_AS_NEW) return change.new;
    if (item === SAME_AS_OLD) return change.old;
    return decodeWireEntry(item, limits, change.path);
  });
  const problems: Problem[] = result.problems.map(([path, error]) => ({
    path: validPath(path, 'problem path'), error: boundedString(error, MAX_PROBLEM_LENGTH, path, 'problem'),
  }));
  const baseline = result.baseline ?? undefined;
  return { results, problems, missingStagedFiles: result.missingStagedFiles, ...(baseline === undefined ? {} : { baseline: { from: baseline[0], sequence: baseline[1] } }) };
}

// --- staging progress ------------------------------------------------------------------------

const progressSchema = z.strictObject({
  path: z.string().max(MAX_PATH_LENGTH),
  receivedSize: count, expectedSize: count, receivedFiles: count, expectedFiles: count, totalReceivedSize: count,
}).nullable();

export function parseStagingProgress(value: unknown): StagingProgress | undefined {
  return parse(progressSchema, value, 'staging progress') ?? undefined;
}
