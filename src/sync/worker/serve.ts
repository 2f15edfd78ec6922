import { MessagePort } from 'node:worker_threads';
import { Logger, LOG_LEVELS, type LogLevel } from '../../base/logger.js';
import { Multiplexer } from '../../wire/multiplexer.js';
import { serveSyncEndpoint } from '../remote/server.js';
import { portCarrier } from './port-carrier.js';

/** Marks workerData as a request to serve one sync endpoint (not an agent on stdio). */
export const SYNC_WORKER_KIND = 'mutagen-sync-endpoint';

/**
 * What the daemon hands a worker thread running the agent bundle (workerData). `port` carries
 * the multiplexed endpoint protocol (see portCarrier); `logPort` receives log lines. Paths are
 * the daemon's own, so staging roots and the scan cache are exactly where SyncManager puts them
 * for an in-process LocalEndpoint.
 */
export interface SyncWorkerData {
  readonly kind: typeof SYNC_WORKER_KIND;
  readonly port: MessagePort;
  readonly logPort: MessagePort;
  readonly logLevel: LogLevel;
  readonly dataDirectory: string;
  readonly homeDirectory: string;
}

/** workerData as SyncWorkerData, or undefined when it is something else. */
export function parseSyncWorkerData(value: unknown): SyncWorkerData | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!('kind' in value) || value.kind !== SYNC_WORKER_KIND) return undefined;
  if (!('port' in value) || !(value.port instanceof MessagePort)) return undefined;
  if (!('logPort' in value) || !(value.logPort instanceof MessagePort)) return undefined;
  if (!('logLevel' in value) || typeof value.logLevel !== 'string') return undefined;
  const level = LOG_LEVELS.find((l) => l === value.logLevel);
  if (level === undefined) return undefined;
  if (!('dataDirectory' in value) || typeof value.dataDirectory !== 'string') return undefined;
  if (!('homeDirectory' in value) || typeof value.homeDirectory !== 'string') return undefined;
  return {
    kind: SYNC_WORKER_KIND, port: value.port, logPort: value.logPort, logLevel: level,
    dataDirectory: value.dataDirectory, homeDirectory: value.homeDirectory,
  };
}

/**
 * Worker side: serves one sync endpoint (serveSyncEndpoint, as an agent does) over `data.port`
 * until the daemon side goes away or `signal` aborts, then closes both ports so the thread can
 * exit. No handshake: the daemon started this very file, and both ends live in one process.
 */
export async function serveSyncWorker(data: SyncWorkerData, signal: AbortSignal): Promise<void> {
  const logger = new Logger({ write: (line: string) => { data.logPort.postMessage(line); return true; } }, data.logLevel);
  const carrier = portCarrier(data.port, { detachWritten: true });
  const mux = new Multiplexer(carrier, { role: 'server', logger: logger.child('wire') });
  try {
    await serveSyncEndpoint(mux, { dataDirectory: data.dataDirectory, homeDirectory: data.homeDirectory, logger }, signal);
  } finally {
    await mux.close();
    carrier.destroy();
    data.logPort.close();
  }
}
