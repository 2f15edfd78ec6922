import * as z from 'zod';
import { digestHex, EMPTY_CONTENTS, type Change, type Conflict, type Entry } from '../model/entry.js';
import {
  FORWARD_STATUSES, forwardSessionRecordSchema, SYNC_STATUSES, syncSessionRecordSchema,
  type EndpointState, type ForwardSessionState, type SyncSessionState,
} from '../model/session.js';

/**
 * JSON forms of the live session states that `sync.list` / `forward.list` carry. Entries travel
 * slim (directories without children, digests as hex): listings never need subtrees.
 */
const entryWireSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('directory') }),
  z.strictObject({ kind: z.literal('phantom-directory') }),
  z.strictObject({ kind: z.literal('file'), digest: z.string().regex(/^(?:[0-9a-f]{2})*$/), executable: z.boolean() }),
  z.strictObject({ kind: z.literal('symlink'), target: z.string() }),
  z.strictObject({ kind: z.literal('untracked') }),
  z.strictObject({ kind: z.literal('problematic'), problem: z.string() }),
]);
type EntryWire = z.infer<typeof entryWireSchema>;

const changeWireSchema = z.strictObject({ path: z.string(), old: entryWireSchema.nullable(), new: entryWireSchema.nullable() });
const conflictWireSchema = z.strictObject({ root: z.string(), alphaChanges: z.array(changeWireSchema), betaChanges: z.array(changeWireSchema) });
const problemSchema = z.strictObject({ path: z.string(), error: z.string() });
const count = z.number().int().nonnegative();

const endpointStateSchema = z.strictObject({
  connected: z.boolean(),
  scanned: z.boolean(),
  directories: count,
  files: count,
  symbolicLinks: count,
  totalFileSize: count,
  scanProblems: z.array(problemSchema),
  excludedScanProblems: count,
  transitionProblems: z.array(problemSchema),
  excludedTransitionProblems: count,
  stagingProgress: z.strictObject({
    path: z.string(),
    receivedSize: count,
    expectedSize: count,
    receivedFiles: count,
    expectedFiles: count,
    totalReceivedSize: count,
  }).optional(),
});

const syncStateWireSchema = z.strictObject({
  session: syncSessionRecordSchema,
  status: z.enum(SYNC_STATUSES),
  lastError: z.string().optional(),
  successfulCycles: count,
  conflicts: z.array(conflictWireSchema),
  excludedConflicts: count,
  alpha: endpointStateSchema,
  beta: endpointStateSchema,
});
type SyncStateWire = z.infer<typeof syncStateWireSchema>;

const forwardStateWireSchema = z.strictObject({
  session: forwardSessionRecordSchema,
  status: z.enum(FORWARD_STATUSES),
  lastError: z.string().optional(),
  sourceConnected: z.boolean(),
  destinationConnected: z.boolean(),
  openConnections: count,
  totalConnections: count,
  droppedConnections: count,
  totalOutboundData: count,
  totalInboundData: count,
});
type ForwardStateWire = z.infer<typeof forwardStateWireSchema>;

function encodeEntry(entry: Entry | undefined): EntryWire | null {
  if (entry === undefined) return null;
  switch (entry.kind) {
    case 'directory':
    case 'phantom-directory':
    case 'untracked':
      return { kind: entry.kind };
    case 'file':
      return { kind: 'file', digest: digestHex(entry.digest), executable: entry.executable };
    case 'symlink':
      return { kind: 'symlink', target: entry.target };
    case 'problematic':
      return { kind: 'problematic', problem: entry.problem };
  }
}

function decodeEntry(wire: EntryWire | null): Entry | undefined {
  if (wire === null) return undefined;
  switch (wire.kind) {
    case 'directory':
    case 'phantom-directory':
      return { kind: wire.kind, contents: EMPTY_CONTENTS };
    case 'file':
      return { kind: 'file', digest: new Uint8Array(Buffer.from(wire.digest, 'hex')), executable: wire.executable };
    default:
      return wire;
  }
}

function encodeChange(change: Change): z.infer<typeof changeWireSchema> {
  return { path: change.path, old: encodeEntry(change.old), new: encodeEntry(change.new) };
}

function decodeChange(wire: z.infer<typeof changeWireSchema>): Change {
  return { path: wire.path, old: decodeEntry(wire.old), new: decodeEntry(wire.new) };
}

function encodeConflict(conflict: Conflict): z.infer<typeof conflictWireSchema> {
  return { root: conflict.root, alphaChanges: conflict.alphaChanges.map(encodeChange), betaChanges: conflict.betaChanges.map(encodeChange) };
}

function decodeConflict(wire: z.infer<typeof conflictWireSchema>): Conflict {
  return { root: wire.root, alphaChanges: wire.alphaChanges.map(decodeChange), betaChanges: wire.betaChanges.map(decodeChange) };
}

function encodeEndpoint(state: EndpointState): z.infer<typeof endpointStateSchema> {
  const { stagingProgress, scanProblems, transitionProblems, ...rest } = state;
  return {
    ...rest,
    scanProblems: [...scanProblems],
    transitionProblems: [...transitionProblems],
    ...(stagingProgress === undefined ? {} : { stagingProgress: { ...stagingProgress } }),
  };
}

function decodeEndpoint(wire: z.infer<typeof endpointStateSchema>): EndpointState {
  return { ...wire, stagingProgress: wire.stagingProgress };
}

function encodeSyncState(state: SyncSessionState): SyncStateWire {
  return {
    session: structuredClone(state.session),
    status: state.status,
    ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
    successfulCycles: state.successfulCycles,
    conflicts: state.conflicts.map(encodeConflict),
    excludedConflicts: state.excludedConflicts,
    alpha: encodeEndpoint(state.alpha),
    beta: encodeEndpoint(state.beta),
  };
}

function decodeSyncState(wire: SyncStateWire): SyncSessionState {
  return {
    ...wire,
    lastError: wire.lastError,
    conflicts: wire.conflicts.map(decodeConflict),
    alpha: decodeEndpoint(wire.alpha),
    beta: decodeEndpoint(wire.beta),
  };
}

function encodeForwardState(state: ForwardSessionState): ForwardStateWire {
  const { lastError, session, ...rest } = state;
  return { ...rest, session: structuredClone(session), ...(lastError === undefined ? {} : { lastError }) };
}

function decodeForwardState(wire: ForwardStateWire): ForwardSessionState {
  return { ...wire, lastError: wire.lastError };
}

/** SyncSessionState ⇄ its JSON form (zod codec: `encode` on the daemon, `parse` in the client). */
export const syncSessionStateCodec = z.codec(syncStateWireSchema, z.custom<SyncSessionState>(), {
  decode: decodeSyncState,
  encode: encodeSyncState,
});

export const forwardSessionStateCodec = z.codec(forwardStateWireSchema, z.custom<ForwardSessionState>(), {
  decode: decodeForwardState,
  encode: encodeForwardState,
});
