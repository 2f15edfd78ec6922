import { chmod, rm } from 'node:fs/promises';
import net from 'node:net';
import * as z from 'zod';
import { errorMessage, isAbortError, MutagenError, ProtocolError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { Prompter } from '../base/prompter.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import {
  cancelParamsSchema, DAEMON_METHODS, failureSchema, isDaemonMethod, JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS,
  JSONRPC_INVALID_REQUEST, JSONRPC_METHOD_NOT_FOUND, JSONRPC_PARSE_ERROR, JSONRPC_SERVER_ERROR, notificationSchema,
  PROMPTING_METHODS, promptResultSchema, requestSchema, successSchema,
  type DaemonMethod, type DaemonParams, type DaemonResult, type ErrorData, type RequestId,
} from './rpc.js';

/** What a handler gets besides its params. The signal aborts on `$/cancel` or client disconnect. */
export interface CallContext {
  readonly signal: AbortSignal;
  /** Relays prompts and status lines to the calling CLI (prompts fail for non-prompting methods). */
  readonly prompter: Prompter;
}

export type DaemonHandlers = {
  readonly [M in DaemonMethod]: (params: DaemonParams<M>, context: CallContext) => Promise<DaemonResult<M>>;
};

export interface DaemonServerOptions {
  readonly socketPath: string;
  readonly handlers: DaemonHandlers;
  readonly logger: Logger;
  readonly maxConnections?: number;
  /** Concurrent calls allowed per connection; more are refused (never queued without bound). */
  readonly maxCallsPerConnection?: number;
}

export interface DaemonServer {
  /** Stops accepting, aborts every call, closes every connection, removes the socket. Idempotent. */
  close(): Promise<void>;
}

const MAX_BUFFERED_NOTIFICATIONS = 1024 * 1024;

/** Thrown inside the server to produce a JSON-RPC error with a specific numeric code. */
class RpcFailure extends Error {
  constructor(readonly rpcCode: number, readonly data: ErrorData) {
    super(data.message);
  }
}

/**
 * Listens on the Unix socket (which the caller, the lock holder, may have cleaned up) and
 * serves the daemon API. Each connection's failures stay inside that connection.
 */
export async function listenDaemonServer(options: DaemonServerOptions): Promise<DaemonServer> {
  const connections = new Set<Connection>();
  const server = net.createServer((socket) => {
    const connection = new Connection(socket, options);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  server.maxConnections = options.maxConnections ?? 256;
  await rm(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.logger.error('server error', { error: errorMessage(error) }));
  await chmod(options.socketPath, 0o600);
  let closing: Promise<void> | undefined;
  return {
    close(): Promise<void> {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.close()));
        await stopped;
        await rm(options.socketPath, { force: true });
      })();
      return closing;
    },
  };
}

interface PendingPrompt {
  readonly resolve: (answer: string) => void;
  readonly reject: (error: Error) => void;
}

class Connection {
  private readonly decoder = new FrameDecoder();
  private readonly calls = new Map<RequestId, AbortController>();
  private readonly prompts = new Map<string, PendingPrompt>();
  private readonly logger: Logger;
  private nextPromptId = 1;
  private closed = false;

  constructor(private readonly socket: net.Socket, private readonly options: DaemonServerOptions) {
    this.logger = options.logger.child('rpc');
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.logger.debug('connection error', { error: errorMessage(error) }));
    socket.on('close', () => this.shutdown());
  }

  close(): Promise<void> {
    this.shutdown();
    if (this.socket.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), 1000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.calls.values()) controller.abort(new MutagenError('MUTAGEN_CANCELLED', 'client disconnected'));
    this.calls.clear();
    for (const prompt of this.prompts.values()) prompt.reject(new MutagenError('MUTAGEN_CANCELLED', 'client disconnected'));
    this.prompts.clear();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let bodies: string[];
    try {
      bodies = this.decoder.push(chunk);
    } catch (error) {
      this.logger.warn('closing connection after a bad frame', { error: errorMessage(error) });
      this.sendError(null, JSONRPC_PARSE_ERROR, { code: 'MUTAGEN_PROTOCOL', message: errorMessage(error) });
      this.shutdown();
      this.socket.end();
      return;
    }
    for (const body of bodies) this.onMessage(body);
  }

  private onMessage(body: string): void {
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch (error) {
      this.sendError(null, JSONRPC_PARSE_ERROR, { code: 'MUTAGEN_PROTOCOL', message: `invalid JSON: ${errorMessage(error)}` });
      return;
    }
    const request = requestSchema.safeParse(message);
    if (request.success) return this.onRequest(request.data.id, request.data.method, request.data.params);
    const notification = notificationSchema.safeParse(message);
    if (notification.success) return this.onNotification(notification.data.method, notification.data.params);
    const success = successSchema.safeParse(message);
    if (success.success) return this.onPromptAnswer(success.data.id, success.data.result, undefined);
    const failure = failureSchema.safeParse(message);
    if (failure.success && failure.data.id !== null) return this.onPromptAnswer(failure.data.id, undefined, failure.data.error.message);
    const id = z.object({ id: z.union([z.number(), z.string()]) }).safeParse(message);
    this.sendError(id.success ? id.data.id : null, JSONRPC_INVALID_REQUEST, { code: 'MUTAGEN_PROTOCOL', message: 'invalid request' });
  }

  private onNotification(method: string, params: unknown): void {
    if (method !== '$/cancel') {
      this.logger.debug('ignoring unknown notification', { method });
      return;
    }
    const parsed = cancelParamsSchema.safeParse(params);
    if (parsed.success) this.calls.get(parsed.data.id)?.abort(new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled'));
  }

  private onRequest(id: RequestId, method: string, params: unknown): void {
    if (!isDaemonMethod(method)) {
      this.sendError(id, JSONRPC_METHOD_NOT_FOUND, { code: 'MUTAGEN_PROTOCOL', message: `unknown method: ${method}` });
      return;
    }
    if (this.calls.has(id)) {
      this.sendError(id, JSONRPC_INVALID_REQUEST, { code: 'MUTAGEN_PROTOCOL', message: `duplicate request id: ${id}` });
      return;
    }
    if (this.calls.size >= (this.options.maxCallsPerConnection ?? 64)) {
      this.sendError(id, JSONRPC_INVALID_REQUEST, { code: 'MUTAGEN_PROTOCOL', message: 'too many concurrent requests' });
      return;
    }
    const controller = new AbortController();
    this.calls.set(id, controller);
    const context: CallContext = { signal: controller.signal, prompter: this.prompter(id, PROMPTING_METHODS.has(method)) };
    this.logger.debug('call', { id, method });
    invoke(method, params, this.options.handlers, context).then(
      (result) => this.send({ jsonrpc: '2.0', id, result }),
      (error: unknown) => this.sendFailure(id, method, error),
    ).finally(() => {
      this.calls.delete(id);
    });
  }

  private sendFailure(id: RequestId, method: string, error: unknown): void {
    if (error instanceof RpcFailure) return this.sendError(id, error.rpcCode, error.data);
    if (error instanceof MutagenError) {
      return this.sendError(id, JSONRPC_SERVER_ERROR, { code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) });
    }
    if (isAbortError(error)) return this.sendError(id, JSONRPC_SERVER_ERROR, { code: 'MUTAGEN_CANCELLED', message: 'operation cancelled' });
    this.logger.error('handler failed unexpectedly', { method, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    this.sendError(id, JSONRPC_INTERNAL_ERROR, {
      code: 'MUTAGEN_INTERNAL',
      message: errorMessage(error),
      hint: 'This is a bug in the mutagen-ts daemon; its log (daemon/daemon.log in the data directory) has the stack trace.',
    });
  }

  private prompter(requestId: RequestId, allowed: boolean): Prompter {
    return {
      prompt: (request, signal) => {
        if (!allowed) return Promise.reject(new MutagenError('MUTAGEN_UNSUPPORTED', 'prompting is not allowed for this operation'));
        return this.ask(requestId, request, signal);
      },
      status: (message) => {
        // Status lines are advisory: drop them rather than buffer without bound for a slow reader.
        if (this.socket.writableLength > MAX_BUFFERED_NOTIFICATIONS) return;
        this.send({ jsonrpc: '2.0', method: '$/progress', params: { id: requestId, event: { kind: 'status', message } } });
      },
    };
  }

  private ask(requestId: RequestId, request: { readonly kind: 'echo' | 'secret'; readonly message: string }, signal: AbortSignal): Promise<string> {
    if (this.closed) return Promise.reject(new MutagenError('MUTAGEN_CANCELLED', 'client disconnected'));
    const id = `prompt-${this.nextPromptId++}`;
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => {
        this.prompts.delete(id);
        reject(new MutagenError('MUTAGEN_CANCELLED', 'prompt cancelled'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(f: (value: T) => void) => (value: T): void => {
        signal.removeEventListener('abort', onAbort);
        this.prompts.delete(id);
        f(value);
      };
      this.prompts.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.send({ jsonrpc: '2.0', id, method: 'prompt', params: { requestId, kind: request.kind, message: request.message } });
    });
  }

  private onPromptAnswer(id: RequestId, result: unknown, error: string | undefined): void {
    const pending = typeof id === 'string' ? this.prompts.get(id) : undefined;
    if (pending === undefined) {
      this.logger.debug('ignoring response to unknown prompt', { id });
      return;
    }
    if (error !== undefined) return pending.reject(new MutagenError('MUTAGEN_CANCELLED', `prompt failed: ${error}`));
    const answer = promptResultSchema.safeParse(result);
    if (answer.success) pending.resolve(answer.data.answer);
    else pending.reject(new ProtocolError('invalid prompt response'));
  }

  private sendError(id: RequestId | null, code: number, data: ErrorData): void {
    this.send({ jsonrpc: '2.0', id, error: { code, message: data.message, data } });
  }

  private send(message: unknown): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    try {
      this.socket.write(encodeFrame(message));
    } catch (error) {
      this.logger.error('unable to send message', { error: errorMessage(error) });
      if (typeof message === 'object' && message !== null && 'id' in message && 'result' in message) {
        const id = z.object({ id: z.union([z.number(), z.string()]) }).parse(message).id;
        this.sendError(id, JSONRPC_INTERNAL_ERROR, { code: 'MUTAGEN_PROTOCOL', message: `unable to send response: ${errorMessage(error)}` });
      }
    }
  }
}

/** Validates params, runs the handler, encodes the result. */
async function invoke(method: DaemonMethod, rawParams: unknown, handlers: DaemonHandlers, context: CallContext): Promise<unknown> {
  const spec = DAEMON_METHODS[method];
  const paramsSchema: z.ZodType = spec.params;
  const parsed = paramsSchema.safeParse(rawParams ?? {});
  if (!parsed.success) {
    throw new RpcFailure(JSONRPC_INVALID_PARAMS, { code: 'MUTAGEN_PROTOCOL', message: `invalid parameters for ${method}: ${z.prettifyError(parsed.error)}` });
  }
  // The table ties each method's handler to its params schema; TypeScript cannot follow that
  // correlation through a union-typed key, so the handler is viewed through its erased type here.
  const handler = handlers[method] as (params: unknown, context: CallContext) => Promise<unknown>;
  const result = await handler(parsed.data, context);
  const resultSchema: z.ZodType = spec.result;
  return z.encode(resultSchema, result);
}
