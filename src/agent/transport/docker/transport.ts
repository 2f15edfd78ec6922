import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import Docker from 'dockerode';
import { cancelledError } from '../../../base/abort.js';
import { errorMessage, MutagenError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { Prompter } from '../../../base/prompter.js';
import type { CopyOptions, CopySource, RemoteProcess, Transport } from '../transport.js';
import { dockerodeOptions, engineIsLocal, resolveDockerEnvironment, type ResolvedDockerEnvironment } from './environment.js';
import { engineError } from './errors.js';
import { runExec, startExec, type ExecContext } from './exec.js';
import { singleFileTar } from './tar.js';
import { probeUser } from './probe.js';
import type { ContainerUser } from './user.js';

export interface DockerTarget {
  readonly container: string;
  /** The URL's user (`docker://user@container/...`); undefined = the container's default user. */
  readonly user?: string;
  /** The DOCKER_* variables captured in the URL (cli spec §4.1); absent = unset (§9.4). */
  readonly environment: Readonly<Record<string, string>>;
}

export interface DockerConnectOptions {
  readonly logger: Logger;
  /** Unused for Linux containers (upstream asks before stopping Windows containers for a copy). */
  readonly prompter?: Prompter;
  /** Home directory whose `.docker` is the default Docker configuration (default: os.homedir()). */
  readonly home?: string;
}

/**
 * The Docker transport (Engine API through dockerode, cli spec §9.3, §9.6): commands run with
 * `exec` as the URL's user in their home directory, argv passed as is (no shell needed); files
 * arrive with `putArchive` under a temp name, then `mv` into place. connect() probes the container
 * once (running, home, uid/gid). Not thread-affine: start/copy may run concurrently. close()
 * releases the engine connection; processes started are owned (and closed) by their callers.
 */
export class DockerTransport implements Transport {
  readonly description: string;
  /** The engine is a unix socket (see engineIsLocal). */
  readonly local: boolean;
  private closed = false;
  private mvAvailable: Promise<boolean> | undefined;

  private constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    private readonly target: DockerTarget,
    private readonly engine: ResolvedDockerEnvironment,
    /** Home, uid and gid of the user commands run as. */
    readonly user: ContainerUser,
    private readonly logger: Logger,
  ) {
    this.description = `docker container ${target.user === undefined ? '' : `${target.user}@`}${target.container}`;
    this.local = engineIsLocal(engine.engine);
  }

  /**
   * Resolves the engine from the captured environment, checks the container runs and probes the
   * user's home and ids. Rejects MUTAGEN_TRANSPORT: `container does not exist`, `container not
   * running`, engine unreachable (naming its address), unknown user; MUTAGEN_CANCELLED on abort.
   */
  static async connect(target: DockerTarget, options: DockerConnectOptions, signal: AbortSignal): Promise<DockerTransport> {
    if (signal.aborted) throw cancelledError();
    const logger = options.logger.child(`docker:${target.container}`);
    const resolved = await resolveDockerEnvironment(target.environment, { home: options.home ?? os.homedir() });
    const operation = `unable to probe container ${target.container}`;
    let docker: Docker;
    try {
      docker = new Docker(dockerodeOptions(resolved));
    } catch (error) {
      throw new MutagenError('MUTAGEN_TRANSPORT', `${operation}: unable to configure the docker client for ${resolved.description}: ${errorMessage(error)}`, { cause: error });
    }
    try {
      const container = docker.getContainer(target.container);
      const context: ExecContext = { container, operation, engine: resolved.description };
      const info = await container.inspect({ abortSignal: signal }).catch((error: unknown) => {
        throw engineError(error, context);
      });
      if (!info.State.Running || info.State.Paused) {
        const problem = info.State.Paused ? 'container paused' : 'container not running';
        throw new MutagenError('MUTAGEN_TRANSPORT', `${operation}: ${problem} (status ${info.State.Status})`, {
          hint: 'Start the container (docker start); the session reconnects when it runs.',
        });
      }
      const user = await probeUser(context, target.user, signal);
      logger.debug('connected', { engine: resolved.description, home: user.home, uid: user.uid, gid: user.gid });
      return new DockerTransport(docker, container, target, resolved, user, logger);
    } catch (error) {
      destroyAgent(docker);
      throw error;
    }
  }

  private context(operation: string): ExecContext {
    return { container: this.container, operation, engine: this.engine.description };
  }

  private checkOpen(): void {
    if (this.closed) throw new MutagenError('MUTAGEN_TRANSPORT', `${this.description}: transport closed`);
  }

  async start(argv: readonly string[], signal: AbortSignal): Promise<RemoteProcess> {
    this.checkOpen();
    const operation = `unable to start ${argv[0] ?? 'a command'} in container ${this.target.container}`;
    return await startExec(this.context(operation), { argv, ...this.userField(), workingDir: this.user.home, stdin: true }, signal);
  }

  private userField(): { user?: string } {
    return this.target.user === undefined ? {} : { user: this.target.user };
  }

  /** `remotePath` relative to home (or `~/...`) made absolute. */
  private absolute(remotePath: string): string {
    if (remotePath === '~') return this.user.home;
    const relative = remotePath.startsWith('~/') ? remotePath.slice(2) : remotePath;
    return path.posix.resolve(this.user.home, relative);
  }

  async copy(source: CopySource, remotePath: string, options: CopyOptions, signal: AbortSignal): Promise<void> {
    this.checkOpen();
    const destination = this.absolute(remotePath);
    const operation = `unable to copy to ${destination} in container ${this.target.container}`;
    const directory = path.posix.dirname(destination);
    const atomic = await this.canRename(signal);
    const name = atomic ? `.mutagen-copy-${randomBytes(6).toString('hex')}` : path.posix.basename(destination);
    const entry = { name, size: source.size, mode: options.mode, uid: this.user.uid, gid: this.user.gid };
    const archive = singleFileTar(counted(source.open(), options.onProgress), entry);
    try {
      await this.container.putArchive(archive, { path: directory, abortSignal: signal });
    } catch (error) {
      archive.destroy();
      throw engineError(error, this.context(operation));
    }
    if (!atomic) return;
    const temporary = path.posix.join(directory, name);
    const moved = await runExec(this.context(operation), { argv: ['mv', '-f', temporary, destination], user: '0' }, signal);
    if (moved.code !== 0) {
      await runExec(this.context(operation), { argv: ['rm', '-f', temporary], user: '0' }, AbortSignal.timeout(10_000)).catch(() => undefined);
      throw new MutagenError('MUTAGEN_TRANSPORT', `${operation}: mv failed (exit ${moved.code ?? 'unknown'}): ${moved.stderr.trim()}`);
    }
  }

  /**
   * Whether `mv` exists (probed once). Without it the file is extracted under its final name,
   * which the engine does by replacing the old file: not atomic, but the only way.
   */
  private canRename(signal: AbortSignal): Promise<boolean> {
    this.mvAvailable ??= runExec(this.context('unable to probe mv'), { argv: ['mv', '--help'], user: '0' }, signal).then(
      (result) => result.code !== 126 && result.code !== 127,
      (error: unknown) => {
        this.mvAvailable = undefined;
        throw error;
      },
    );
    return this.mvAvailable;
  }

  /** Idempotent; the engine connection is per request, so this only stops new work. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      destroyAgent(this.docker);
      this.logger.debug('closed');
    }
    return Promise.resolve();
  }
}

/** The https agent dockerodeOptions made for TLS without verification, if any. */
function destroyAgent(docker: Docker): void {
  const agent: unknown = Reflect.get(docker.modem, 'agent');
  if (agent instanceof Agent) agent.destroy();
}

function counted(stream: Readable, onProgress: ((bytes: number) => void) | undefined): Readable {
  if (onProgress === undefined) return stream;
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onProgress(total);
      callback(null, chunk);
    },
  });
  stream.on('error', (error) => counter.destroy(error));
  return stream.pipe(counter);
}
