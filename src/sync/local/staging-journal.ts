import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { errnoCode } from '../../base/errors.js';

/** Name of the journal inside the staging root; every other name there is a staged or partial file. */
export const JOURNAL_NAME = 'journal';
/**
 * A staged file's name in the root: `<shard>/<tag>-<counter>`, or `<tag>-<counter>` (the flat
 * layout of earlier versions); never `..`, an absolute path or the journal.
 */
const STAGED_NAME = /^(?:[0-9a-z]+\/)?[0-9a-f]+-[0-9a-z]+$/;
/** Buffered journal lines are written once they reach this size (and at every flush()). */
const JOURNAL_BUFFER_SIZE = 64 * 1024;

/** One committed staged file: its name in the staging root, the digest computed, the path it is for. */
export interface JournalRecord {
  readonly name: string;
  readonly digestHex: string;
  readonly path: string;
}

/**
 * Append-only record of committed staged files, so that content received before a crash or a
 * restart is found again (sync-semantics §6.5) without renaming every file to a content-addressed
 * name. A record is appended only after its file was completely written, closed and hashed; a
 * torn last line (crash while appending) is ignored when read back.
 */
export class StagingJournal {
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(private readonly file: string) {}

  /** The records of an existing journal (none when there is no journal); malformed lines are skipped. */
  static read(file: string): JournalRecord[] {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const records: JournalRecord[] = [];
    for (const line of text.split('\n')) {
      const record = parseRecord(line);
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** Buffers a record; `now` (a large file, costly to receive again) writes the buffer at once. */
  append(record: JournalRecord, now = false): void {
    const line = `${JSON.stringify([record.name, record.digestHex, record.path])}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (now || this.pendingBytes >= JOURNAL_BUFFER_SIZE) this.flush();
  }

  /** Writes buffered records (one write). Throws file-system errors. */
  flush(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.fd ??= openSync(this.file, 'a', 0o600);
    let offset = 0;
    while (offset < data.byteLength) offset += writeSync(this.fd, data, offset, data.byteLength - offset);
  }

  /** Drops buffered records and closes the file (idempotent). */
  close(): void {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // nothing more to write through it
    }
  }
}

function parseRecord(line: string): JournalRecord | undefined {
  if (line === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [name, digestHex, path] = value as unknown[];
  if (typeof name !== 'string' || typeof digestHex !== 'string' || typeof path !== 'string') return undefined;
  if (!STAGED_NAME.test(name) || !/^[0-9a-f]+$/.test(digestHex)) return undefined;
  return { name, digestHex, path };
}
