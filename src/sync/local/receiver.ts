import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { constants } from 'node:fs';
import { forEachConcurrently } from '../../base/concurrency.js';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { StagingProgress } from '../../model/session.js';
import type { DeltaReceiver, Transmission } from '../endpoint.js';
import { Patcher } from '../rsync/patch.js';
import { SignatureBuilder } from '../rsync/signature-builder.js';
import { blockSizeFor } from '../rsync/signature.js';
import type { Signature } from '../rsync/types.js';
import { operationRange } from '../rsync/validate.js';
import { REMEMBERED_BLOCKS_LIMIT, REMEMBERED_SIGNATURE_MINIMUM, type SignatureMemory } from './file-content.js';
import type { StagingSink, StagingStore } from './staging.js';

/** Copies copyLocally() keeps in flight (file threads take them 64 at a time). */
const LOCAL_COPY_WINDOW = 512;

interface Current {
  readonly path: string;
  readonly base: FileHandle | undefined;
  readonly sink: StagingSink;
  readonly patcher: Patcher;
  readonly signature: Signature;
  /** Computes the received file's signature for `memory` (large files). */
  builder: SignatureBuilder | undefined;
  burning: boolean;
  receivedSize: number;
  expectedSize: number;
}

/**
 * Receives the transmission stream for the paths of a stage plan (sync-semantics §6.4): patches
 * each file against its base at the same path into a staging sink and commits it at `done`.
 * A patch or open error "burns" the file: remaining operations are ignored, nothing is staged.
 * With a `memory`, the signature of each large file is computed on the way (mostly from the
 * base's block hashes when it is patched against one) and remembered for the next transfer of
 * that path.
 */
export class StagingReceiver implements DeltaReceiver {
  /** Positions (in `paths`) whose transmissions come in the stream, in order; all unless copyLocally() ran. */
  private order: readonly number[];
  /** How many of `order` the stream has finished. */
  private position = 0;
  private current: Current | undefined;
  private receivedFiles = 0;
  private totalReceivedSize = 0;
  private finished = false;
  /** Blocks of the signatures computed for files received whole (no base) in this plan. */
  private wholeFileBlocks = 0;

  constructor(
    private readonly root: string,
    private readonly paths: readonly string[],
    private readonly signatures: readonly Signature[],
    private readonly store: StagingStore,
    private readonly memory?: SignatureMemory,
  ) {
    this.order = paths.map((_, index) => index);
  }

  progress(): StagingProgress | undefined {
    if (this.finished) return undefined;
    return {
      path: this.current?.path ?? this.paths[this.order[this.position] ?? -1] ?? '',
      receivedSize: this.current?.receivedSize ?? 0,
      expectedSize: this.current?.expectedSize ?? 0,
      receivedFiles: this.receivedFiles,
      expectedFiles: this.paths.length,
      totalReceivedSize: this.totalReceivedSize,
    };
  }

  async write(transmission: Transmission): Promise<void> {
    if (this.position >= this.order.length) throw new MutagenError('MUTAGEN_STAGING', 'received transmission beyond the requested paths');
    const current = this.current ?? (await this.begin());
    if (transmission.kind === 'done') {
      await this.end(current, transmission.error);
      return;
    }
    if (current.burning) return;
    if (transmission.expectedSize !== undefined) {
      current.expectedSize = transmission.expectedSize;
      if (this.memory !== undefined && current.receivedSize === 0 && transmission.expectedSize >= REMEMBERED_SIGNATURE_MINIMUM
        && this.worthBuilding(current.signature, transmission.expectedSize)) {
        current.builder = SignatureBuilder.create(current.signature, transmission.expectedSize);
      }
    }
    const operation = transmission.operation;
    try {
      if (current.builder !== undefined && operation.kind === 'blocks') {
        // Validated first: the builder trusts the run's bounds.
        operationRange(operation, current.signature);
        current.builder.blocks(operation.start, operation.count);
      }
      await current.patcher.apply(operation);
    } catch {
      current.burning = true;
    }
  }

  /**
   * A file new to this side (no base) whose whole content came in one piece, staged as write()
   * of the data and of `done` would: small ones go to the store without a sink (one hash call,
   * the writer thread writes them), the others through write().
   */
  async writeWhole(data: Uint8Array, expectedSize: number | undefined): Promise<void> {
    const index = this.current === undefined ? this.order[this.position] : undefined;
    const relative = index === undefined ? undefined : this.paths[index];
    if (index !== undefined && relative !== undefined && this.signatures[index]?.hashes.length === 0
      && (this.memory === undefined || (expectedSize ?? 0) < REMEMBERED_SIGNATURE_MINIMUM)) {
      const staged = this.store.stageWhole(relative, data);
      if (staged !== undefined && (await staged)) {
        this.position += 1;
        this.receivedFiles += 1;
        this.totalReceivedSize += data.byteLength;
        this.memory?.forget(relative);
        return;
      }
    }
    await this.write({ kind: 'operation', operation: { kind: 'data', data }, ...(expectedSize === undefined ? {} : { expectedSize }) });
    await this.write({ kind: 'done' });
  }

  /**
   * Stages the plan's paths that have no base (files new to this side) from the sender's root
   * on this machine (local↔local sessions: `source` maps a path to the sender's file): each is
   * copied and hashed by a file thread (StagingStore.copyIn), so the event loop only dispatches
   * them. Resolves to the positions in `paths` left for the transmission stream, in order (files
   * patched against a base, large files, and whatever a thread skipped): the stream then carries
   * exactly those. Must run before the first write(); waits for every copy it started.
   */
  async copyLocally(source: (relative: string) => string, signal: AbortSignal): Promise<readonly number[]> {
    if (this.position > 0 || this.current !== undefined) throw new MutagenError('MUTAGEN_INTERNAL', 'local copies after the transmission stream started');
    if (!this.store.copiesInThreads) return this.order;
    const streamed: number[] = [];
    const candidates: number[] = [];
    this.signatures.forEach((signature, index) => (signature.hashes.length > 0 ? streamed : candidates).push(index));
    // Every copy started has ended when this returns (or throws): none still writes into the root.
    await forEachConcurrently(candidates, LOCAL_COPY_WINDOW, async (index) => {
      const relative = this.paths[index] as string;
      const size = signal.aborted ? undefined : await this.store.copyIn(relative, source(relative)).catch(() => undefined);
      if (size === undefined) {
        streamed.push(index);
        return;
      }
      this.memory?.forget(relative);
      this.receivedFiles += 1;
      this.totalReceivedSize += size;
    });
    signal.throwIfAborted();
    this.order = streamed.sort((a, b) => a - b);
    return this.order;
  }

  async finish(): Promise<void> {
    if (this.current !== undefined) await this.end(this.current, 'transmission ended early');
    this.finished = true;
    await this.store.persist();
  }

  /** Releases open handles without committing (cancellation). */
  async abort(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    this.finished = true;
    if (current !== undefined) {
      await current.sink.abort().catch(() => undefined);
      await current.base?.close().catch(() => undefined);
    }
  }

  private async begin(): Promise<Current> {
    const index = this.order[this.position] as number;
    const relative = this.paths[index] as string;
    const signature = this.signatures[index] as Signature;
    let base: FileHandle | undefined;
    let burning = false;
    if (signature.hashes.length > 0) {
      try {
        base = await open(path.join(this.root, relative), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {
        burning = true;
      }
    }
    const sink = await this.store.createSink(relative, base !== undefined);
    const current: Current = {
      path: relative,
      base,
      sink,
      burning,
      receivedSize: 0,
      expectedSize: 0,
      signature,
      builder: undefined,
      patcher: new Patcher(base, signature, async (chunk) => {
        current.receivedSize += chunk.byteLength;
        this.totalReceivedSize += chunk.byteLength;
        current.builder?.feed(chunk);
        await sink.write(chunk);
      }),
    };
    this.current = current;
    return current;
  }

  private async end(current: Current, error: string | undefined): Promise<void> {
    this.current = undefined;
    this.position += 1;
    this.receivedFiles += 1;
    await current.base?.close().catch(() => undefined);
    if (current.burning || error !== undefined) {
      await current.sink.abort();
      return;
    }
    try {
      const digest = await current.sink.commit();
      this.rememberSignature(current, digest);
    } catch (commitError) {
      // A failed commit (e.g. over the size limit) just leaves the file unstaged; the transition
      // then reports it missing and the next cycle retries.
      void errorMessage(commitError);
    }
  }

  /**
   * Whether to compute the signature of a file on its way in. Patched files mostly reuse their
   * base's hashes. Files received whole are hashed block by block, which the next delta saves
   * (its first pass over the base); but the memory keeps only REMEMBERED_BLOCKS_LIMIT blocks,
   * so in a plan with more large files than that (an initial sync) the later ones would push
   * the earlier out: past that many blocks, none is computed.
   */
  private worthBuilding(base: Signature, expectedSize: number): boolean {
    if (base.hashes.length > 0) return true;
    const blocks = Math.ceil(expectedSize / blockSizeFor(expectedSize));
    if (this.wholeFileBlocks + blocks > REMEMBERED_BLOCKS_LIMIT) return false;
    this.wholeFileBlocks += blocks;
    return true;
  }

  /** Remembers the received file's signature, keyed by the staged file's stat (placement keeps it). */
  private rememberSignature(current: Current, digest: Uint8Array): void {
    if (this.memory === undefined) return;
    const signature = current.builder?.finish();
    const stat = signature === undefined ? undefined : this.store.lookup(current.path, digest)?.stat;
    if (signature === undefined || stat === undefined) this.memory.forget(current.path);
    else this.memory.remember(current.path, stat, digest, signature);
  }
}
