import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { constants } from 'node:fs';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { StagingProgress } from '../../model/session.js';
import type { DeltaReceiver, Transmission } from '../endpoint.js';
import { Patcher } from '../rsync/patch.js';
import { SignatureBuilder } from '../rsync/signature-builder.js';
import type { Signature } from '../rsync/types.js';
import { operationRange } from '../rsync/validate.js';
import { REMEMBERED_SIGNATURE_MINIMUM, type SignatureMemory } from './file-content.js';
import type { StagingSink, StagingStore } from './staging.js';

interface Current {
  readonly path: string;
  readonly base: FileHandle | undefined;
  readonly sink: StagingSink;
  readonly patcher: Patcher;
  readonly signature: Signature;
  /** Computes the received file's signature for `memory` (large files patched against a base). */
  builder: SignatureBuilder | undefined;
  burning: boolean;
  receivedSize: number;
  expectedSize: number;
}

/**
 * Receives the transmission stream for the paths of a stage plan (sync-semantics §6.4): patches
 * each file against its base at the same path into a staging sink and commits it at `done`.
 * A patch or open error "burns" the file: remaining operations are ignored, nothing is staged.
 * With a `memory`, the signature of each large file received against a base is computed on the
 * way (mostly from the base's block hashes) and remembered for the next transfer of that path.
 */
export class StagingReceiver implements DeltaReceiver {
  private index = 0;
  private current: Current | undefined;
  private receivedFiles = 0;
  private totalReceivedSize = 0;
  private finished = false;

  constructor(
    private readonly root: string,
    private readonly paths: readonly string[],
    private readonly signatures: readonly Signature[],
    private readonly store: StagingStore,
    private readonly memory?: SignatureMemory,
  ) {}

  progress(): StagingProgress | undefined {
    if (this.finished) return undefined;
    return {
      path: this.current?.path ?? this.paths[this.index] ?? '',
      receivedSize: this.current?.receivedSize ?? 0,
      expectedSize: this.current?.expectedSize ?? 0,
      receivedFiles: this.receivedFiles,
      expectedFiles: this.paths.length,
      totalReceivedSize: this.totalReceivedSize,
    };
  }

  async write(transmission: Transmission): Promise<void> {
    if (this.index >= this.paths.length) throw new MutagenError('MUTAGEN_STAGING', 'received transmission beyond the requested paths');
    const current = this.current ?? (await this.begin());
    if (transmission.kind === 'done') {
      await this.end(current, transmission.error);
      return;
    }
    if (current.burning) return;
    if (transmission.expectedSize !== undefined) {
      current.expectedSize = transmission.expectedSize;
      if (this.memory !== undefined && current.receivedSize === 0 && transmission.expectedSize >= REMEMBERED_SIGNATURE_MINIMUM) {
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
    const relative = this.paths[this.index] as string;
    const signature = this.signatures[this.index] as Signature;
    let base: FileHandle | undefined;
    let burning = false;
    if (signature.hashes.length > 0) {
      try {
        base = await open(path.join(this.root, relative), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {
        burning = true;
      }
    }
    const sink = await this.store.createSink(relative);
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
    this.index += 1;
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

  /** Remembers the received file's signature, keyed by the staged file's stat (placement keeps it). */
  private rememberSignature(current: Current, digest: Uint8Array): void {
    if (this.memory === undefined) return;
    const signature = current.builder?.finish();
    const stat = signature === undefined ? undefined : this.store.lookup(current.path, digest)?.stat;
    if (signature === undefined || stat === undefined) this.memory.forget(current.path);
    else this.memory.remember(current.path, stat, digest, signature);
  }
}
