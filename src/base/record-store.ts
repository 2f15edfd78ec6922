import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type * as z from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { errorMessage, MutagenError } from './errors.js';

const ID_PATTERN = /^[a-z]{4}_[0-9a-zA-Z]{43}$/;

export interface LoadedRecords<T> {
  readonly records: T[];
  /** Files that could not be loaded: reported, never deleted. */
  readonly failures: { readonly file: string; readonly error: string }[];
}

/**
 * Session records as `<dir>/<id>.json`, written atomically. The file name starts with the
 * identifier (cli spec §10.3); a record that fails to parse is reported and left alone.
 */
export class RecordStore<T extends { readonly id: string }> {
  constructor(private readonly directory: string, private readonly schema: z.ZodType<T>) {}

  async initialize(): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
  }

  fileOf(id: string): string {
    return path.join(this.directory, `${id}.json`);
  }

  async save(record: T): Promise<void> {
    await writeFileAtomic(this.fileOf(record.id), `${JSON.stringify(record, null, 1)}\n`);
  }

  async remove(id: string): Promise<void> {
    await rm(this.fileOf(id), { force: true });
  }

  async loadAll(): Promise<LoadedRecords<T>> {
    const records: T[] = [];
    const failures: { file: string; error: string }[] = [];
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return { records, failures };
    }
    for (const name of names.sort()) {
      const id = name.endsWith('.json') ? name.slice(0, -5) : name;
      if (!ID_PATTERN.test(id)) continue;
      try {
        const parsed = this.schema.safeParse(JSON.parse(await readFile(path.join(this.directory, name), 'utf8')));
        if (!parsed.success) throw new MutagenError('MUTAGEN_CORRUPT_RECORD', `invalid record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        if (parsed.data.id !== id) throw new MutagenError('MUTAGEN_CORRUPT_RECORD', `record identifier ${parsed.data.id} does not match its file name`);
        records.push(parsed.data);
      } catch (error) {
        failures.push({ file: path.join(this.directory, name), error: errorMessage(error) });
      }
    }
    return { records, failures };
  }
}
