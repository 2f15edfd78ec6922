import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { errorMessage, isMutagenError } from '../base/errors.js';
import { Logger, parseLogLevel, type LogLevel } from '../base/logger.js';
import { serveAgent } from './serve.js';
import { parseSyncWorkerData, serveSyncWorker, type SyncWorkerData } from '../sync/worker/serve.js';
import { openPooledReader } from '../wire/pooled-reads.js';

/**
 * Entry of dist/agent.mjs, run on remotes as `node agent.mjs synchronizer|forwarder
 * [--log-level=L]`. stdout carries protocol bytes only (stray writes are diverted to stderr);
 * logs go to stderr. Exit status: 0 when the daemon went away, 1 on failure, 2 (usage) for a
 * command line or environment it cannot work with (the daemon does not reinstall for 2).
 * Runs on Node.js 18: no AbortSignal.any or other newer APIs here.
 */

declare const __MUTAGEN_VERSION__: string | undefined;

const EXIT_USAGE = 2;

class UsageError extends Error {}

interface AgentArguments {
  readonly mode: 'synchronizer' | 'forwarder';
  readonly level: LogLevel;
}

function parseArguments(argv: readonly string[]): AgentArguments {
  const [mode, ...rest] = argv;
  if (mode !== 'synchronizer' && mode !== 'forwarder') throw new UsageError(`usage: agent.mjs synchronizer|forwarder [--log-level=<level>] (got ${JSON.stringify(mode ?? '')})`);
  let level: LogLevel = 'warn';
  for (const argument of rest) {
    const match = /^--log-level=(.*)$/.exec(argument);
    if (match === null) throw new UsageError(`unknown argument: ${JSON.stringify(argument)}`);
    try {
      level = parseLogLevel(match[1]);
    } catch (error) {
      throw new UsageError(errorMessage(error));
    }
  }
  return { mode, level };
}

function dataDirectory(home: string): string {
  const configured = process.env['MUTAGEN_DATA_DIRECTORY'];
  if (configured === undefined) return path.join(home, '.mutagen-ts');
  if (configured === '') throw new UsageError('provided data directory path is empty');
  if (!path.isAbsolute(configured)) throw new UsageError(`provided data directory path is not absolute: ${configured}`);
  return path.normalize(configured);
}

/**
 * The protocol's writable side of stdout. Every other write to process.stdout (a stray
 * console.log in a dependency) goes to stderr instead, so it can never corrupt the protocol.
 */
function takeStdout(): Writable {
  const stdout = process.stdout;
  const write = stdout.write.bind(stdout);
  const divert = (...args: Parameters<typeof process.stderr.write>): boolean => process.stderr.write(...args);
  Object.defineProperty(stdout, 'write', { value: divert, configurable: true, writable: true });
  const protocol = new Writable({
    // Done with a chunk once stdout wrote it (Carrier.reusableWrites): the multiplexer reuses
    // its write buffers then, and the chunks queue here rather than in stdout.
    write(chunk: Buffer, _encoding, callback): void {
      write(chunk, (error?: Error | null) => callback(error));
    },
    final(callback): void {
      if (stdout.writableLength === 0) callback();
      else stdout.once('drain', () => callback());
    },
  });
  stdout.on('error', (error: Error) => protocol.destroy(error));
  return protocol;
}

/**
 * The protocol's readable side of stdin. A forwarder reads it into one reused buffer (see
 * wire/pooled-reads.ts): forwarded bytes are copied into pooled chunks that go back to the pool
 * once written to their socket, instead of a new 64 KiB buffer per read. (process.stdin is then
 * never touched: it would open a second handle on the descriptor.)
 */
function protocolInput(mode: 'synchronizer' | 'forwarder'): Readable {
  return (mode === 'forwarder' ? openPooledReader(0) : undefined) ?? process.stdin;
}

function ownDigest(): string {
  return createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex');
}

function version(): string {
  return typeof __MUTAGEN_VERSION__ === 'string' ? __MUTAGEN_VERSION__ : '0.0.0-development';
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArguments(argv);
  const home = os.homedir();
  const data = dataDirectory(home);
  const logger = new Logger(process.stderr, args.level).child('agent');
  const digest = ownDigest();
  const writable = takeStdout();
  const controller = new AbortController();
  for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(name, () => controller.abort(new Error(`received ${name}`)));
  }
  await serveAgent({
    mode: args.mode, carrier: { readable: protocolInput(args.mode), writable, reusableWrites: true }, version: version(), digest, dataDirectory: data, homeDirectory: home, logger,
  }, controller.signal);
  await new Promise<void>((resolve) => {
    writable.end(() => resolve());
    writable.once('error', () => resolve());
  });
  logger.debug('exiting');
  return 0;
}

function fail(error: unknown): void {
  const usage = error instanceof UsageError;
  const text = usage || isMutagenError(error) ? errorMessage(error) : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`mutagen agent: ${text}\n`, () => process.exit(usage ? EXIT_USAGE : 1));
}

/**
 * AbortSignal.any arrived in Node 20.3; endpoint code uses it. Installed here, in the entry,
 * before anything runs, so the bundle keeps working on older runtimes.
 */
function polyfillAbortSignalAny(): void {
  if (typeof AbortSignal.any === 'function') return;
  const any = (signals: Iterable<AbortSignal>): AbortSignal => {
    const controller = new AbortController();
    for (const signal of signals) {
      if (signal.aborted) {
        controller.abort(signal.reason);
        break;
      }
      signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true, signal: controller.signal });
    }
    return controller.signal;
  };
  Object.defineProperty(AbortSignal, 'any', { value: any, configurable: true, writable: true });
}

function main(): void {
  polyfillAbortSignalAny();
  process.stderr.on('error', () => undefined);
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  run(process.argv.slice(2)).then((code) => process.exit(code), fail);
}

/**
 * The daemon runs this bundle in a worker thread to serve a local endpoint on another core
 * (SyncManagerOptions.localInWorker): no stdio, no signals, no process.exit. A failure is
 * rethrown uncaught, which ends the thread and reaches the daemon as the Worker's 'error'.
 */
function serveInWorker(data: SyncWorkerData): void {
  polyfillAbortSignalAny();
  serveSyncWorker(data, new AbortController().signal).catch((error: unknown) => {
    setImmediate(() => { throw error; });
  });
}

const syncWorker = isMainThread ? undefined : parseSyncWorkerData(workerData);
if (syncWorker === undefined) main();
else serveInWorker(syncWorker);
