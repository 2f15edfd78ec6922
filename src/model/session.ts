import * as z from 'zod';
import { forwardConfigurationSchema, syncConfigurationSchema } from './configuration.js';
import type { Conflict, Problem } from './entry.js';
import { endpointUrlSchema } from './url.js';

export type SessionId = string;

/** What a client asks the daemon to create (names/labels already validated by the caller). */
export const syncSpecSchema = z.strictObject({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  alpha: endpointUrlSchema,
  beta: endpointUrlSchema,
  configuration: syncConfigurationSchema,
  configurationAlpha: syncConfigurationSchema,
  configurationBeta: syncConfigurationSchema,
});
export type SyncSpec = z.infer<typeof syncSpecSchema>;

export const forwardSpecSchema = z.strictObject({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  source: endpointUrlSchema,
  destination: endpointUrlSchema,
  configuration: forwardConfigurationSchema,
  configurationSource: forwardConfigurationSchema,
  configurationDestination: forwardConfigurationSchema,
});
export type ForwardSpec = z.infer<typeof forwardSpecSchema>;

/** Persisted as sessions/<id>.json. */
export const syncSessionRecordSchema = syncSpecSchema.extend({
  id: z.string(),
  version: z.literal(1),
  paused: z.boolean(),
  createdAt: z.string(),
  creatingVersion: z.string(),
});
export type SyncSessionRecord = z.infer<typeof syncSessionRecordSchema>;

export const forwardSessionRecordSchema = forwardSpecSchema.extend({
  id: z.string(),
  version: z.literal(1),
  paused: z.boolean(),
  createdAt: z.string(),
  creatingVersion: z.string(),
});
export type ForwardSessionRecord = z.infer<typeof forwardSessionRecordSchema>;

export const SYNC_STATUSES = [
  'disconnected', 'halted-on-root-emptied', 'halted-on-root-deletion', 'halted-on-root-type-change',
  'connecting-alpha', 'connecting-beta', 'watching', 'scanning', 'waiting-for-rescan', 'reconciling',
  'staging-alpha', 'staging-beta', 'transitioning', 'saving',
] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export function isConnectedStatus(status: SyncStatus): boolean {
  return SYNC_STATUSES.indexOf(status) >= SYNC_STATUSES.indexOf('watching');
}

export function isHaltedStatus(status: SyncStatus): boolean {
  return status.startsWith('halted-');
}

export interface StagingProgress {
  readonly path: string;
  readonly receivedSize: number;
  readonly expectedSize: number;
  readonly receivedFiles: number;
  readonly expectedFiles: number;
  readonly totalReceivedSize: number;
}

export interface EndpointState {
  readonly connected: boolean;
  readonly scanned: boolean;
  readonly directories: number;
  readonly files: number;
  readonly symbolicLinks: number;
  readonly totalFileSize: number;
  readonly scanProblems: readonly Problem[];
  readonly excludedScanProblems: number;
  readonly transitionProblems: readonly Problem[];
  readonly excludedTransitionProblems: number;
  readonly stagingProgress: StagingProgress | undefined;
}

/** Live, in memory only; sync.list returns it (conflicts/problems: first 10, rest counted). */
export interface SyncSessionState {
  readonly session: SyncSessionRecord;
  readonly status: SyncStatus;
  readonly lastError: string | undefined;
  readonly successfulCycles: number;
  readonly conflicts: readonly Conflict[];
  readonly excludedConflicts: number;
  readonly alpha: EndpointState;
  readonly beta: EndpointState;
}

export const FORWARD_STATUSES = ['disconnected', 'connecting-source', 'connecting-destination', 'forwarding'] as const;
export type ForwardStatus = (typeof FORWARD_STATUSES)[number];

export interface ForwardSessionState {
  readonly session: ForwardSessionRecord;
  readonly status: ForwardStatus;
  readonly lastError: string | undefined;
  readonly sourceConnected: boolean;
  readonly destinationConnected: boolean;
  readonly openConnections: number;
  readonly totalConnections: number;
  readonly droppedConnections: number;
  readonly totalOutboundData: number;
  readonly totalInboundData: number;
}

/** Which sessions a command addresses (cli spec §3.5): exactly one mechanism, or none for list. */
export const selectionSchema = z.strictObject({
  all: z.boolean().optional(),
  specifications: z.array(z.string()).optional(),
  labelSelector: z.string().optional(),
});
export type Selection = z.infer<typeof selectionSchema>;
