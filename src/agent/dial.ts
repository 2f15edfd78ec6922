import os from 'node:os';
import path from 'node:path';
import { anySignal, cancelledError, sleep } from '../base/abort.js';
import { errorMessage, isMutagenError, MutagenError } from '../base/errors.js';
import type { Logger, LogLevel } from '../base/logger.js';
import { clientHandshake, type Compression, type Hello } from '../wire/handshake.js';
import { Multiplexer } from '../wire/multiplexer.js';
import { loadAgentBundle, type AgentBundle } from './bundle.js';
import { ensureRuntime, installAgent, remoteAgentPath, type InstallOptions } from './install.js';
import { probeRemote, type ProbeResult } from './probe.js';
import { stderrTail } from './remote-command.js';
import { prepareRuntimeArchive, type RuntimeArchive } from './runtime.js';
import type { RemoteExit, RemoteProcess, Transport } from './transport/transport.js';

/** Exit status of an agent that rejected its command line (src/agent/main.ts): never reinstall for it. */
export const AGENT_USAGE_EXIT_CODE = 2;

export interface DialOptions {
  readonly mode: 'synchronizer' | 'forwarder';
  readonly logger: Logger;
  /** Progress lines for a waiting user ("Installing agent...", upload progress). */
  readonly onStatus?: (message: string) => void;
  /** Wire compression to ask the agent for; default deflate. */
  readonly compression?: Compression;
}

/** A handshaken agent. close() (idempotent) closes the multiplexer, then the process. */
export interface AgentConnection {
  readonly mux: Multiplexer;
  readonly process: RemoteProcess;
  readonly peer: Hello;
  /** The wire compression chosen in the handshake. */
  readonly compression: Compression;
  close(): Promise<void>;
}

export interface AgentDialerOptions {
  readonly logger: Logger;
  /** The daemon's data directory: the compressed runtime cache lives in `<it>/agents/runtimes/`. */
  readonly localDataDirectory: string;
  /** The agent to install; default loadAgentBundle() (dist/agent.mjs or MUTAGEN_AGENT_BUNDLE), read once. */
  readonly bundle?: () => Promise<AgentBundle>;
  /** A remote node path to try before any other. */
  readonly nodePath?: string;
  /** `--log-level` of agents; default warn. */
  readonly agentLogLevel?: LogLevel;
  /** Ceiling on the magic + hello exchange after the agent started; default 30 s. */
  readonly handshakeTimeoutMs?: number;
}

/**
 * V8 options for the agent's node: semi-spaces of at most 4 MiB instead of 16. What the agent
 * allocates while receiving dies young (message and buffer wrappers), so a smaller young
 * generation costs no measurable CPU. It saves ~40 MiB of peak RSS: a 20k-file initial sync over
 * loopback SSH (destination and staging on tmpfs, so the disk does not blur the CPU figures)
 * peaked at 180-185 MiB with the default and at 135 MiB with this; agent CPU was 5.6-7.0 s
 * before and 5.1-6.0 s after.
 * And an initial heap of 64 MiB, as the daemon has (see the CLI's DAEMON_NODE_OPTIONS): with the
 * default, the agent's small old generation (15-30 MiB live while receiving) hit its limit every
 * ~100 ms of that sync and V8 ran 13-22 concurrent major collections; with this, 5 (4 of them
 * the receive loop's own, every 64 MiB). Agent CPU 2.65-2.96 s before, 2.42-2.50 s after (three
 * interleaved runs each, tmpfs); peak RSS 175-181 MiB before, 181-182 after. Every node since 12
 * accepts both options.
 */
const AGENT_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=4', '--initial-heap-size=64'];

class Connection implements AgentConnection {
  private closing: Promise<void> | undefined;
  constructor(readonly mux: Multiplexer, readonly process: RemoteProcess, readonly peer: Hello, readonly compression: Compression) {}

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.mux.close().catch(() => undefined);
      await this.process.close();
    })();
    return this.closing;
  }
}

type Attempt =
  | { readonly kind: 'connected'; readonly connection: AgentConnection }
  | { readonly kind: 'failed'; readonly error: MutagenError; readonly reinstall: boolean };

/** Waits a moment for the exit status of a process whose handshake failed. */
async function exitSoon(remote: RemoteProcess): Promise<RemoteExit | undefined> {
  const timeout = new AbortController();
  try {
    return await Promise.race([remote.exit, sleep(1000, timeout.signal).then(() => undefined, () => undefined)]);
  } finally {
    timeout.abort();
  }
}

function handshakeFailure(cause: unknown, exit: RemoteExit | undefined, stderr: string, timedOut: boolean): Attempt {
  const tail = stderrTail(stderr);
  let reason = timedOut ? 'the agent did not answer in time' : errorMessage(cause);
  if (exit !== undefined && !timedOut) reason += ` (exit status ${exit.code === null ? `signal ${exit.signal ?? 'unknown'}` : String(exit.code)})`;
  const message = `unable to handshake with agent process: ${reason}${tail === '' ? '' : ` (error output: ${tail})`}`;
  const hint = isMutagenError(cause) ? cause.hint : undefined;
  const error = new MutagenError('MUTAGEN_AGENT', message, { cause, ...(hint === undefined ? {} : { hint }) });
  const mismatch = isMutagenError(cause) && cause.code === 'MUTAGEN_VERSION_MISMATCH';
  // An agent that died before answering (missing, truncated, corrupt, not runnable) is
  // reinstalled once; one that rejected its arguments or was blocked by shell noise is not.
  // (A file truncated at a statement boundary may even exit 0 without a word.)
  const died = exit !== undefined && exit.code !== AGENT_USAGE_EXIT_CODE;
  return { kind: 'failed', error, reinstall: mismatch || died };
}

/**
 * Daemon side of agents: probe (cached per transport description) → install when missing →
 * start `node agent.mjs <mode>` → handshake (version and digest must match the bundle). A
 * missing, corrupt or mismatched agent is reinstalled once. Safe for concurrent dials.
 */
export class AgentDialer {
  private bundlePromise: Promise<AgentBundle> | undefined;
  private readonly probes = new Map<string, Promise<ProbeResult>>();
  private readonly archives = new Map<boolean, Promise<RuntimeArchive>>();

  constructor(private readonly options: AgentDialerOptions) {}

  /** Forgets what was probed about a remote (next dial probes again). */
  forget(transport: Transport): void {
    this.probes.delete(transport.description);
  }

  async dial(transport: Transport, options: DialOptions, signal: AbortSignal): Promise<AgentConnection> {
    signal.throwIfAborted();
    const bundle = await this.bundle();
    let probe = await this.probe(transport, bundle, options, signal);
    let installed = false;
    for (;;) {
      const install = this.installOptions(bundle, options);
      const node = await ensureRuntime(transport, probe, install, signal);
      if (!probe.agentInstalled) {
        options.logger.debug('installing agent', { remote: transport.description });
        await installAgent(transport, probe, node, install, signal);
        installed = true;
      }
      probe = { ...probe, node: { path: node, version: probe.node?.path === node ? probe.node.version : process.versions.node }, agentInstalled: true };
      this.probes.set(transport.description, Promise.resolve(probe));
      const attempt = await this.attempt(transport, probe, bundle, options, signal);
      if (attempt.kind === 'connected') return attempt.connection;
      if (installed || !attempt.reinstall) throw attempt.error;
      options.logger.info('agent did not start, reinstalling', { remote: transport.description, error: attempt.error.message });
      this.forget(transport);
      probe = { ...(await this.probe(transport, bundle, options, signal)), agentInstalled: false };
    }
  }

  private bundle(): Promise<AgentBundle> {
    this.bundlePromise ??= (this.options.bundle ?? (() => loadAgentBundle()))();
    this.bundlePromise.catch(() => { this.bundlePromise = undefined; });
    return this.bundlePromise;
  }

  private probe(transport: Transport, bundle: AgentBundle, options: DialOptions, signal: AbortSignal): Promise<ProbeResult> {
    const key = transport.description;
    let probe = this.probes.get(key);
    if (probe === undefined) {
      options.onStatus?.(`Probing ${transport.description}...`);
      probe = probeRemote(transport, {
        version: bundle.version, logger: options.logger, ...(this.options.nodePath === undefined ? {} : { nodePath: this.options.nodePath }),
      }, signal);
      this.probes.set(key, probe);
      probe.catch(() => { if (this.probes.get(key) === probe) this.probes.delete(key); });
    }
    return probe;
  }

  private installOptions(bundle: AgentBundle, options: DialOptions): InstallOptions {
    return {
      bundle,
      logger: options.logger,
      ...(options.onStatus === undefined ? {} : { onStatus: options.onStatus }),
      runtimeArchive: (compress, signal) => {
        let archive = this.archives.get(compress);
        if (archive === undefined) {
          archive = prepareRuntimeArchive(this.options.localDataDirectory, compress, signal);
          this.archives.set(compress, archive);
          archive.catch(() => this.archives.delete(compress));
        }
        return archive;
      },
    };
  }

  private async attempt(transport: Transport, probe: ProbeResult, bundle: AgentBundle, options: DialOptions, signal: AbortSignal): Promise<Attempt> {
    const node = probe.node?.path ?? 'node';
    const argv = [node, ...AGENT_NODE_OPTIONS, remoteAgentPath(probe, bundle.version), options.mode, `--log-level=${this.options.agentLogLevel ?? 'warn'}`];
    options.onStatus?.('Connecting to agent...');
    const remote = await transport.start(argv, signal);
    const timeout = AbortSignal.timeout(this.options.handshakeTimeoutMs ?? 30_000);
    const hello: Hello = { version: bundle.version, protocol: 1, digest: bundle.digest, compression: ['deflate', 'none'] };
    try {
      const result = await clientHandshake({ readable: remote.stdout, writable: remote.stdin, reusableWrites: true }, hello, { preferred: options.compression ?? 'deflate' }, anySignal([signal, timeout]));
      const mux = new Multiplexer(result.carrier, { role: 'client', logger: options.logger.child('wire') });
      options.logger.debug('agent connected', { remote: transport.description, compression: result.compression, offered: result.peer.compression.join(',') });
      return { kind: 'connected', connection: new Connection(mux, remote, result.peer, result.compression) };
    } catch (error) {
      if (signal.aborted) {
        await remote.close();
        throw cancelledError();
      }
      // A version mismatch reinstalls anyway: no need to wait for that agent's exit status.
      const mismatch = isMutagenError(error) && error.code === 'MUTAGEN_VERSION_MISMATCH';
      const exit = timeout.aborted || mismatch ? undefined : await exitSoon(remote);
      await remote.close();
      return handshakeFailure(error, exit, remote.stderr(), timeout.aborted);
    }
  }
}

/** The daemon's data directory as the agent code sees it (no import of src/daemon allowed). */
function defaultLocalDataDirectory(): string {
  const configured = process.env['MUTAGEN_DATA_DIRECTORY'];
  return configured !== undefined && path.isAbsolute(configured) ? configured : path.join(os.homedir(), '.mutagen-ts');
}

/** One-off dial with a fresh AgentDialer (no probe cache): prefer a long-lived AgentDialer. */
export function dialAgent(transport: Transport, options: DialOptions, signal: AbortSignal): Promise<AgentConnection> {
  return new AgentDialer({ logger: options.logger, localDataDirectory: defaultLocalDataDirectory() }).dial(transport, options, signal);
}
