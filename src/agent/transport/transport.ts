import type { Readable, Writable } from 'node:stream';

/**
 * A process started on the remote by a transport. stdout carries protocol bytes only; stderr is
 * kept (the last 32 KiB) for error messages. The owner must call close().
 */
export interface RemoteProcess {
  /** Done with a chunk once that write's callback has run (see Carrier.reusableWrites). */
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** The tail (at most 32 KiB) of what the process wrote to stderr so far, decoded as UTF-8. */
  stderr(): string;
  /**
   * Settles when the process is gone. `code` is the exit status when known; null when it died by
   * a signal or the channel/stream closed without a status. Never rejects.
   */
  readonly exit: Promise<RemoteExit>;
  /** Ends stdin, then kills the process if it does not exit promptly. Idempotent. */
  close(): Promise<void>;
}

export interface RemoteExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface CopySource {
  /** Called once per attempt; must return a fresh stream of exactly `size` bytes. */
  open(): Readable;
  readonly size: number;
}

export interface CopyOptions {
  /** Permission bits of the created file. */
  readonly mode: number;
  /** Bytes written so far (for progress output). */
  readonly onProgress?: (bytes: number) => void;
}

/**
 * How the daemon reaches one remote (an SSH host or a container): Mutagen's three transport
 * methods, minus classification (which is shared: see agent/dial.ts). Implementations:
 * SshTransport (ssh2), DockerTransport (dockerode), ProcessTransport (child_process; tests).
 */
export interface Transport {
  /** For messages: `root@127.0.0.1:2222`, `docker container web`. */
  readonly description: string;
  /**
   * True when the bytes never leave this machine: SSH to a loopback HostName without ProxyJump
   * or ProxyCommand, or a Docker engine reached over a unix socket. Then the default wire
   * compression is none (see defaultCompression in model/configuration.ts). Absent = false.
   */
  readonly local?: boolean;
  /**
   * Starts argv on the remote with the remote user's home directory as working directory. argv is
   * passed exactly: where a shell is involved (SSH), this is the only place that quotes.
   * Rejects (MUTAGEN_TRANSPORT) when the remote cannot be reached; a command that cannot run is
   * a RemoteProcess whose exit code says so (127/126), not a rejection.
   */
  start(argv: readonly string[], signal: AbortSignal): Promise<RemoteProcess>;
  /**
   * Writes a file at `remotePath` (absolute, or relative to the remote home), creating parent
   * directories is NOT done here. Rejects (MUTAGEN_TRANSPORT) with the remote's reason.
   */
  copy(source: CopySource, remotePath: string, options: CopyOptions, signal: AbortSignal): Promise<void>;
  /** Releases connections held for this transport. Idempotent. */
  close(): Promise<void>;
}
