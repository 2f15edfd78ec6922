import type { Duplex } from 'node:stream';
import * as z from 'zod';
import { cancelledError } from '../base/abort.js';
import { isAbortError, MutagenError, ProtocolError, TransportError, wrapError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { silentLogger } from '../base/logger.js';
import { MessageReader, MessageWriter } from './messages.js';
import type { WireError } from './wire-error.js';
import { fromWireError, toWireError } from './wire-error.js';

export type ChannelMessage =
  | { type: 'request'; id: number; method: string; params: unknown }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'cancel'; id: number }
  | { type: 'event'; name: string; data: unknown };

export type RequestHandler = (method: string, params: unknown, signal: AbortSignal) => Promise<unknown>;

export interface ChannelOptions {
  readonly handler?: RequestHandler;
  readonly onEvent?: (name: string, data: unknown) => void;
  readonly maxMessageSize?: number;
  readonly logger?: Logger;
}

/** Incoming requests served at once; beyond this the channel stops reading until one finishes. */
const MAX_CONCURRENT_HANDLERS = 256;

const id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(256);
const messageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('request'), id, method: name, params: z.unknown() }),
  z.object({ type: z.literal('result'), id, value: z.unknown() }),
  z.object({ type: z.literal('error'), id, error: z.unknown() }),
  z.object({ type: z.literal('cancel'), id }),
  z.object({ type: z.literal('event'), name, data: z.unknown() }),
]);
type ParsedMessage = z.infer<typeof messageSchema>;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Request/response RPC plus ordered events over one byte stream. Requests in both directions run
 * concurrently; ids are increasing integers per direction. Every incoming message is validated;
 * a malformed one ends the channel with MUTAGEN_PROTOCOL (the stream is reset) and every pending
 * request rejects. The channel owns the stream.
 */
export class Channel {
  /** Settles once: undefined after a clean end (EOF or close()), else the error. Never rejects. */
  readonly closed: Promise<MutagenError | undefined>;
  private resolveClosed: (error: MutagenError | undefined) => void = () => undefined;
  private readonly reader: MessageReader;
  private readonly writer: MessageWriter;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<number, AbortController>();
  private readonly loopAbort = new AbortController();
  private readonly logger: Logger;
  private nextId = 1;
  private lastIncomingId = 0;
  private ended: MutagenError | undefined | null = null;
  private handlerSlot: (() => void) | undefined;

  constructor(private readonly stream: Duplex, private readonly options: ChannelOptions) {
    this.logger = options.logger ?? silentLogger;
    this.reader = new MessageReader(stream, options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize });
    this.writer = new MessageWriter(stream);
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
    void this.readLoop();
  }

  /** Aborting sends 'cancel' and rejects with MUTAGEN_CANCELLED. A remote error rejects with it;
   *  the channel ending rejects with MUTAGEN_PROTOCOL/TRANSPORT. */
  request(method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    if (this.ended !== null) return Promise.reject(this.endError());
    if (signal.aborted) return Promise.reject(cancelledError());
    const requestId = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(requestId)) return;
        this.send({ type: 'cancel', id: requestId });
        reject(cancelledError());
      };
      const settle = (): void => signal.removeEventListener('abort', onAbort);
      this.pending.set(requestId, {
        resolve: (value) => { settle(); resolve(value); },
        reject: (error) => { settle(); reject(error); },
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.writer.write({ type: 'request', id: requestId, method, params } satisfies ChannelMessage).catch((error: unknown) => {
        const entry = this.pending.get(requestId);
        this.pending.delete(requestId);
        entry?.reject(error instanceof Error ? error : new TransportError(String(error)));
      });
    });
  }

  /** Fire-and-forget, ordered with requests and replies. Dropped once the channel ended. */
  event(name: string, data: unknown): void {
    this.send({ type: 'event', name, data });
  }

  /** Idempotent: ends our side, rejects pending requests, aborts running handlers. */
  async close(): Promise<void> {
    this.finish(undefined);
    await this.writer.end();
  }

  private send(message: ChannelMessage): void {
    if (this.ended !== null) return;
    this.writer.write(message).catch((error: unknown) => {
      this.logger.debug('unable to send a channel message', { type: message.type, error: String(error) });
    });
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.handlers.size >= MAX_CONCURRENT_HANDLERS) await new Promise<void>((resolve) => { this.handlerSlot = resolve; });
        const value = await this.reader.read(this.loopAbort.signal);
        if (value === undefined) break;
        if (this.ended !== null) continue; // closed locally: drain until the peer ends
        const parsed = messageSchema.safeParse(value);
        if (!parsed.success) throw new ProtocolError(`malformed channel message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        this.dispatch(parsed.data);
      }
      this.finish(undefined);
      if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    } catch (error) {
      if (this.ended !== null && isAbortError(error)) return;
      const failure = error instanceof MutagenError ? error : new TransportError('channel failed', { cause: error });
      this.logger.debug('channel failed', { error: failure.message });
      this.finish(failure);
      this.stream.destroy(failure);
    }
  }

  private dispatch(message: ParsedMessage): void {
    switch (message.type) {
      case 'request': return this.serve(message.id, message.method, message.params);
      case 'result': return this.settle(message.id, (entry) => entry.resolve(message.value));
      case 'error': return this.settle(message.id, (entry) => entry.reject(fromWireError(message.error)));
      case 'cancel': return this.handlers.get(message.id)?.abort(cancelledError());
      case 'event': return this.deliverEvent(message.name, message.data);
    }
  }

  private settle(requestId: number, action: (entry: Pending) => void): void {
    if (requestId >= this.nextId) throw new ProtocolError(`reply to request ${requestId}, which was never sent`);
    const entry = this.pending.get(requestId);
    if (entry === undefined) return; // cancelled: the late reply is dropped
    this.pending.delete(requestId);
    action(entry);
  }

  private serve(requestId: number, method: string, params: unknown): void {
    if (requestId <= this.lastIncomingId) throw new ProtocolError(`request id ${requestId} is not increasing`);
    this.lastIncomingId = requestId;
    const controller = new AbortController();
    this.handlers.set(requestId, controller);
    const handler = this.options.handler;
    const run = handler === undefined
      ? Promise.reject(new MutagenError('MUTAGEN_UNSUPPORTED', `unknown method "${method}"`))
      : handler(method, params, controller.signal);
    run.then(
      (value) => this.reply(requestId, controller, { type: 'result', id: requestId, value }),
      (error: unknown) => this.reply(requestId, controller, { type: 'error', id: requestId, error: toWireError(error) }),
    );
  }

  private reply(requestId: number, controller: AbortController, message: ChannelMessage): void {
    this.handlers.delete(requestId);
    const slot = this.handlerSlot;
    this.handlerSlot = undefined;
    slot?.();
    if (controller.signal.aborted || this.ended !== null) return; // cancelled or ended: nobody waits
    this.writer.write(message).catch((error: unknown) => {
      if (message.type !== 'result') return;
      // Typically a value that cannot be encoded: tell the caller instead of leaving it waiting.
      this.send({ type: 'error', id: requestId, error: toWireError(wrapError('unable to send the result', error)) });
    });
  }

  private deliverEvent(eventName: string, data: unknown): void {
    try {
      this.options.onEvent?.(eventName, data);
    } catch (error) {
      this.logger.warn('event listener failed', { event: eventName, error: String(error) });
    }
  }

  private endError(): MutagenError {
    return this.ended ?? new TransportError('the channel is closed');
  }

  private finish(error: MutagenError | undefined): void {
    if (this.ended !== null) return;
    this.ended = error;
    const reason = this.endError();
    for (const entry of this.pending.values()) entry.reject(reason);
    this.pending.clear();
    for (const controller of this.handlers.values()) controller.abort(reason);
    const slot = this.handlerSlot;
    this.handlerSlot = undefined;
    slot?.();
    this.resolveClosed(error);
  }
}
