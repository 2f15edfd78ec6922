import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { writeFileAtomic } from '../base/atomic-write.js';
import { errnoCode, errorMessage, MutagenError } from '../base/errors.js';
import type { Entry } from '../model/entry.js';
import { decodeEntry } from './core/codec.js';
import { EntryPacker } from './core/entry-packer.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const ARCHIVE_VERSION = 1;

/**
 * Persists the ancestor of one session as `archives/<id>` (atomic, msgpack). Saves reuse the
 * packed bytes of subtrees unchanged since an earlier save (EntryPacker), so a save after a small
 * change costs little more than writing the file.
 */
export class ArchiveStore {
  private readonly packer = new EntryPacker();

  constructor(private readonly directory: string) {}

  pathOf(id: string): string {
    return path.join(this.directory, id);
  }

  /** Loads the ancestor; a missing archive is an error (it is written at create). */
  async load(id: string): Promise<Entry | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(id));
    } catch (error) {
      throw new MutagenError('MUTAGEN_ARCHIVE', `unable to load archive: ${errnoCode(error) === 'ENOENT' ? 'archive missing' : errorMessage(error)}`, { cause: error });
    }
    let value: unknown;
    try {
      value = packr.unpack(bytes);
    } catch (error) {
      throw new MutagenError('MUTAGEN_ARCHIVE', `unable to decode archive: ${errorMessage(error)}`, { cause: error });
    }
    if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== ARCHIVE_VERSION) {
      throw new MutagenError('MUTAGEN_ARCHIVE', 'unable to decode archive: unknown archive format');
    }
    return decodeEntry((value as { content?: unknown }).content ?? null);
  }

  async save(id: string, ancestor: Entry | undefined): Promise<void> {
    const bytes = this.packer.packMap({ version: ARCHIVE_VERSION }, 'content', ancestor);
    await writeFileAtomic(this.pathOf(id), bytes);
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}
