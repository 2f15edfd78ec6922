import { rm } from 'node:fs/promises';
import path from 'node:path';
import { anySignal, whenAborted } from '../../base/abort.js';
import { asError, errorMessage, MutagenError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';
import { Channel } from '../../wire/channel.js';
import type { Multiplexer } from '../../wire/multiplexer.js';
import { LocalEndpoint } from '../local/endpoint.js';
import { InvalidMessage, protocolError } from './entry-codec.js';
import { CHANNEL_STREAM_ID, parseConnect, type ConnectParams } from './messages.js';
import { EndpointHandlers } from './server-handlers.js';
import { StreamRegistry } from './stream-registry.js';

export interface SyncServerOptions {
  readonly dataDirectory: string;
  readonly homeDirectory: string;
  readonly logger: Logger;
}

/**
 * Agent side: accepts stream 1 as the endpoint Channel and serves one LocalEndpoint (created on
 * 'connect' with computeSignatures: true, staging and cache under dataDirectory) until the
 * channel or the multiplexer ends or `signal` aborts. Shuts the endpoint down and closes the
 * multiplexer before resolving. Never throws for peer misbehaviour: it replies with an error or
 * closes.
 */
export async function serveSyncEndpoint(mux: Multiplexer, options: SyncServerOptions, signal: AbortSignal): Promise<void> {
  const server = new SyncServer(mux, options);
  try {
    await server.run(signal);
  } finally {
    await server.close();
  }
}

class SyncServer {
  private readonly streams = new StreamRegistry();
  private readonly stop = new AbortController();
  private channel: Channel | undefined;
  private handlers: EndpointHandlers | undefined;
  private connecting: Promise<unknown> | undefined;
  /** What the served session keeps on this side (removed by `discard`). */
  private sessionFiles: { readonly stagingRoot: string; readonly cacheFile: string } | undefined;
  private active: { readonly signal: AbortSignal; readonly done: Promise<unknown> } | undefined;

  constructor(private readonly mux: Multiplexer, private readonly options: SyncServerOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    const stop = anySignal([signal, this.stop.signal]);
    void this.acceptStreams(stop);
    let stream;
    try {
      stream = await this.streams.take(CHANNEL_STREAM_ID, anySignal([stop, AbortSignal.timeout(60_000)]));
    } catch (error) {
      this.options.logger.debug('no endpoint channel', { error: errorMessage(error) });
      return;
    }
    const channel = new Channel(stream, {
      handler: (method, params, requestSignal) => this.handle(method, params, requestSignal),
      logger: this.options.logger.child('channel'),
    });
    this.channel = channel;
    const ended = await Promise.race([channel.closed, this.mux.closed, whenAborted(stop).then(() => undefined)]);
    if (ended !== undefined) this.options.logger.debug('endpoint connection ended', { error: ended.message });
  }

  async close(): Promise<void> {
    this.stop.abort(new MutagenError('MUTAGEN_CANCELLED', 'endpoint server stopped'));
    this.streams.close(new MutagenError('MUTAGEN_CANCELLED', 'endpoint server stopped'));
    await this.connecting?.catch(() => undefined);
    await this.handlers?.shutdown().catch((error: unknown) => this.options.logger.warn('error shutting the endpoint down', { error: errorMessage(error) }));
    await this.channel?.close().catch(() => undefined);
    await this.mux.close().catch(() => undefined);
  }

  /** The session is terminated: shut the endpoint down, then delete its scan cache and staging area. */
  private async discard(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    await this.handlers?.discard();
    const files = this.sessionFiles;
    if (files === undefined) return;
    await Promise.all([rm(files.cacheFile, { force: true }), rm(files.stagingRoot, { recursive: true, force: true })]);
    this.options.logger.debug('session state removed', { ...files });
  }

  private async acceptStreams(signal: AbortSignal): Promise<void> {
    try {
      for (;;) this.streams.put(await this.mux.accept(signal));
    } catch (error) {
      this.streams.close(asError(error));
    }
  }

  private async handle(method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    if (method === 'shutdown') {
      await this.handlers?.shutdown();
      return null;
    }
    if (method === 'discard') {
      await this.discard();
      return null;
    }
    // A side request: answered at once, even while an endpoint call runs (Endpoint.quietSinceScan).
    if (method === 'quiet') return this.handlers === undefined ? false : this.handlers.quiet(signal);
    // Endpoint calls are sequential. A call whose cancel arrived may still be unwinding: the next
    // one waits for it; a call overlapping a live one is a misbehaving client.
    const active = this.active;
    if (active !== undefined && !active.signal.aborted) {
      throw new MutagenError('MUTAGEN_PROTOCOL', `overlapping endpoint calls (${method})`);
    }
    const run = (async () => {
      await active?.done.catch(() => undefined);
      signal.throwIfAborted();
      return method === 'connect' ? this.connect(params, signal) : this.dispatch(method, params, signal);
    })();
    const current = { signal, done: run };
    this.active = current;
    try {
      return await run;
    } finally {
      if (this.active === current) this.active = undefined;
    }
  }

  private dispatch(method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    const handlers = this.handlers;
    if (handlers === undefined) throw new MutagenError('MUTAGEN_PROTOCOL', `${method} before connect`);
    return handlers.handle(method, params, signal);
  }

  private async connect(params: unknown, signal: AbortSignal): Promise<unknown> {
    if (this.handlers !== undefined || this.connecting !== undefined) throw new MutagenError('MUTAGEN_PROTOCOL', 'already connected');
    let request: ConnectParams;
    try {
      request = parseConnect(params);
    } catch (error) {
      throw error instanceof InvalidMessage ? protocolError('connect request', 'daemon', error) : error;
    }
    const opening = this.openEndpoint(request, signal);
    this.connecting = opening;
    return opening;
  }

  private async openEndpoint(request: ConnectParams, signal: AbortSignal): Promise<unknown> {
    const root = resolveRoot(request.root, this.options.homeDirectory);
    const logger = this.options.logger.child(`${request.sessionId.slice(0, 13)}/${request.side}`);
    const files = {
      stagingRoot: stagingRoot(this.options.dataDirectory, request, root),
      cacheFile: path.join(this.options.dataDirectory, 'caches', `${request.sessionId}_${request.side}`),
    };
    this.sessionFiles = files;
    const endpoint = await LocalEndpoint.connect({
      root,
      configuration: request.configuration,
      readOnly: request.readOnly,
      ...files,
      computeSignatures: true,
      logger,
    }, signal);
    if (this.stop.signal.aborted) {
      await endpoint.shutdown();
      throw new MutagenError('MUTAGEN_CANCELLED', 'endpoint server stopped');
    }
    this.handlers = new EndpointHandlers(endpoint, {
      hash: request.configuration.hash,
      streams: this.streams,
      event: (name, data) => this.channel?.event(name, data),
      logger,
    });
    logger.debug('serving endpoint', { root });
    return { root };
  }
}

/** `~`, `~/x` and relative roots resolve against the home directory; absolute ones stay. */
export function resolveRoot(root: string, home: string): string {
  if (root === '~') return home;
  if (root.startsWith('~/')) return path.join(home, root.slice(2));
  if (root.startsWith('~')) {
    throw new MutagenError('MUTAGEN_ENDPOINT', `unable to resolve ${JSON.stringify(root)}: other users' home directories are not supported`, {
      hint: 'Use an absolute path or one relative to your home directory.',
    });
  }
  return path.isAbsolute(root) ? path.normalize(root) : path.resolve(home, root);
}

/** Where staged files go (sync-semantics §6.6), as the daemon's manager does for local roots. */
function stagingRoot(dataDirectory: string, request: ConnectParams, root: string): string {
  const name = `${request.sessionId}-${request.side}`;
  switch (request.configuration.stageMode) {
    case 'neighboring':
      return path.join(path.dirname(root), `.mutagen-temporary-staging-${name}`);
    case 'internal':
      return path.join(root, `.mutagen-temporary-staging-${name}`);
    case 'mutagen':
      return path.join(dataDirectory, 'staging', name);
  }
}
