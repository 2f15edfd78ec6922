import { Writable, type PassThrough } from 'node:stream';
import { ProtocolError } from '../../../base/errors.js';

/**
 * Splits the engine's multiplexed exec stream (non-TTY: 8-byte headers `type 0 0 0 | u32 BE
 * length`, type 1 = stdout, 2 = stderr) into a stdout stream and a stderr callback. Unlike
 * docker-modem's demuxStream it keeps back-pressure: a frame's stdout bytes are accepted only as
 * fast as `stdout` drains, so piping the socket into this stops reading from the engine when the
 * consumer is slow. A failed exec (missing binary, unknown user) is reported by the engine as
 * text on *stdout*; such a first frame goes to `onEngineError` instead, never to the consumer.
 */
const ENGINE_ERROR = /^(OCI runtime exec failed|OCI runtime exec error|unable to find (user|group)|exec failed|rpc error: code = )/;

export interface DemuxSinks {
  readonly stdout: PassThrough;
  onStderr(chunk: Buffer): void;
  onEngineError(chunk: Buffer): void;
}

export class ExecStreamDemuxer extends Writable {
  private header = Buffer.alloc(0);
  private type = 0;
  private remaining = 0;
  /** Bytes of the first stdout frame, held until its prefix (64 bytes or the whole frame) is known. */
  private firstStdout: Buffer | undefined = Buffer.alloc(0);
  private engineErrorFrame = false;

  constructor(private readonly sinks: DemuxSinks) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.consume(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.decideFirst()
      .then(() => {
        this.sinks.stdout.end();
        callback();
      }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.sinks.stdout.writableEnded) this.sinks.stdout.end();
    callback(error);
  }

  private async consume(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0) {
        offset = this.readHeader(chunk, offset);
        continue;
      }
      const piece = chunk.subarray(offset, offset + this.remaining);
      offset += piece.length;
      this.remaining -= piece.length;
      await this.deliver(piece);
    }
  }

  /** Accumulates header bytes (a header may span chunks); returns the new offset. */
  private readHeader(chunk: Buffer, offset: number): number {
    const take = Math.min(8 - this.header.length, chunk.length - offset);
    this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
    if (this.header.length < 8) return offset + take;
    const type = this.header[0] ?? 0;
    if (type > 2) throw new ProtocolError(`malformed exec stream from the docker engine (stream type ${type})`);
    this.type = type;
    this.remaining = this.header.readUInt32BE(4);
    this.header = Buffer.alloc(0);
    this.engineErrorFrame = false;
    return offset + take;
  }

  private async deliver(piece: Buffer): Promise<void> {
    if (this.type === 2) {
      this.sinks.onStderr(piece);
      return;
    }
    if (this.type !== 1) return;
    if (this.firstStdout !== undefined) {
      // The engine writes its error as the whole first frame: hold it until the prefix is known.
      this.firstStdout = Buffer.concat([this.firstStdout, piece]);
      if (this.firstStdout.length >= 64 || this.remaining === 0) await this.decideFirst();
      return;
    }
    await this.forward(piece);
  }

  private async decideFirst(): Promise<void> {
    const held = this.firstStdout;
    if (held === undefined) return;
    this.firstStdout = undefined;
    this.engineErrorFrame = ENGINE_ERROR.test(held.toString('utf8', 0, 64));
    if (held.length > 0) await this.forward(held);
  }

  private async forward(piece: Buffer): Promise<void> {
    if (this.engineErrorFrame) {
      this.sinks.onEngineError(piece);
      return;
    }
    const { stdout } = this.sinks;
    if (stdout.destroyed) return;
    if (!stdout.write(piece)) await drained(stdout);
  }
}

function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
