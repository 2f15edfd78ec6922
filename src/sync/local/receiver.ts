import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { constants } from 'node:fs';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { StagingProgress } from '../../model/session.js';
import type { DeltaReceiver, Transmission } from '../endpoint.js';
import { Patcher } from '../rsync/patch.js';
import type { Signature } from '../rsync/types.js';
import type { StagingSink, StagingStore } from './staging.js';

interface Current {
  readonly path: string;
  readonly base: FileHandle | undefined;
  readonly sink: StagingSink;
  readonly patcher: Patcher;
  burning: boolean;
  receivedSize: number;
  expectedSize: number;
}

/**
 * Receives the transmission stream for the paths of a stage plan (sync-semantics §6.4): patches
 * each file against its base at the same path into a staging sink and commits it at `done`.
 * A patch or open error "burns" the file: remaining operations are ignored, nothing is staged.
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
    if (transmission.expectedSize !== undefined) current.expectedSize = transmission.expectedSize;
    try {
      await current.patcher.apply(transmission.operation);
    } catch {
      current.burning = true;
    }
  }

  async finish(): Promise<void> {
    if (this.current !== undefined) await this.end(this.current, 'transmission ended early');
    this.finished = true;
    this.store.persist();
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
      patcher: new Patcher(base, signature, async (chunk) => {
        current.receivedSize += chunk.byteLength;
        this.totalReceivedSize += chunk.byteLength;
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
      await current.sink.commit();
    } catch (commitError) {
      // A failed commit (e.g. over the size limit) just leaves the file unstaged; the transition
      // then reports it missing and the next cycle retries.
      void errorMessage(commitError);
    }
  }
}
