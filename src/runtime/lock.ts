import { constants as fsConstants } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { sleep } from '../base/abort.js';
import { errnoCode, errorMessage, MutagenError } from '../base/errors.js';
import { isIdentifier } from '../model/identifier.js';
import type { ProjectId } from '../planner/observed.js';

/** How often a blocked project command retries the lock. */
const RETRY_INTERVAL_MS = 100;
/** A lock held by a process that died unreleased counts as free after this long (proper-lockfile's mtime check). */
const STALE_AFTER_MS = 10_000;

/** `mutagen.yml.lock` beside `mutagen.yml` (cli spec §7.5). */
export function lockFilePath(projectFile: string): string {
  return `${path.resolve(projectFile)}.lock`;
}

export interface AcquireLockOptions {
  readonly signal: AbortSignal;
  /** Called once when another process holds the lock and this one starts waiting. */
  readonly onWait?: (message: string) => void;
}

/**
 * The project lock of one project command (cli spec §7.5). While held, no other project
 * command on the same project file runs: they wait in `acquireProjectLock`. `projectId` is the
 * identifier the file held when the lock was taken (undefined: empty or absent = not running).
 * The holder must `release()` (idempotent) on every path; `write` and `remove` change the file.
 */
export interface ProjectLock {
  /** Absolute path of `mutagen.yml.lock`. */
  readonly path: string;
  readonly projectId: ProjectId | undefined;
  /** Whether the file existed before this command (absent files are created to be locked). */
  readonly existed: boolean;
  /** Stores `id` (no newline) as the project identifier. */
  write(id: ProjectId): Promise<void>;
  /** Deletes the lock file (terminate, or a start that failed before reaching the daemon). */
  remove(): Promise<void>;
  /** Releases the OS-level lock; the file stays unless `remove` was called. */
  release(): Promise<void>;
}

/** The file as a project identifier: undefined when empty; anything else must be an identifier. */
function parseContent(content: string, file: string): ProjectId | undefined {
  const text = content.trim();
  if (text === '') return undefined;
  if (!text.startsWith('proj_') || !isIdentifier(text)) {
    throw new MutagenError('MUTAGEN_PROJECT', `invalid project identifier found in project lock (${file})`, {
      hint: `Remove ${path.basename(file)} if no project sessions are running (check with "mutagen sync list").`,
    });
  }
  return text;
}

/** Creates the lock file (0600) if missing; returns whether it existed. */
async function ensureFile(file: string): Promise<boolean> {
  try {
    const handle = await open(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_RDWR, 0o600);
    await handle.close();
    return false;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return true;
    throw new MutagenError('MUTAGEN_PROJECT', `unable to create project lock ${file}: ${errorMessage(error)}`, { cause: error });
  }
}

async function readContent(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    // Removed by the previous holder (terminate) after this process created it: empty.
    if (errnoCode(error) === 'ENOENT') return '';
    throw new MutagenError('MUTAGEN_PROJECT', `unable to read project lock ${file}: ${errorMessage(error)}`, { cause: error });
  }
}

/** Takes the OS lock, waiting (polling) while another process holds it. */
async function lockBlocking(file: string, options: AcquireLockOptions, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  let waiting = false;
  for (;;) {
    options.signal.throwIfAborted();
    try {
      return await lockfile.lock(file, { realpath: false, stale: STALE_AFTER_MS, retries: 0, onCompromised });
    } catch (error) {
      if (errnoCode(error) !== 'ELOCKED') {
        throw new MutagenError('MUTAGEN_PROJECT', `unable to lock project ${file}: ${errorMessage(error)}`, { cause: error });
      }
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(`Waiting for another project command on ${path.basename(file, '.lock')} to finish...`);
    }
    await sleep(RETRY_INTERVAL_MS, options.signal);
  }
}

/**
 * Locks the project of `projectFile` for the duration of one command (cli spec §7.5): creates
 * `mutagen.yml.lock` (0600) when missing, takes an advisory lock on it (proper-lockfile: a
 * `mutagen.yml.lock.lock` directory whose mtime is refreshed while held; Node has no flock),
 * waiting while another project command holds it, then reads the project identifier. Content
 * that is not an identifier throws `invalid project identifier found in project lock` (the lock
 * is released first). Cancelled by `signal` while waiting.
 */
export async function acquireProjectLock(projectFile: string, options: AcquireLockOptions): Promise<ProjectLock> {
  const file = lockFilePath(projectFile);
  const existed = await ensureFile(file);
  let compromised: Error | undefined;
  const unlock = await lockBlocking(file, options, (error) => { compromised = error; });
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= unlock().catch(() => undefined);
    return released;
  };
  let projectId: ProjectId | undefined;
  try {
    projectId = parseContent(await readContent(file), file);
  } catch (error) {
    await release();
    throw error;
  }
  const check = (): void => {
    if (compromised !== undefined) {
      throw new MutagenError('MUTAGEN_PROJECT', `project lock ${file} was lost: ${compromised.message}`, { cause: compromised });
    }
  };
  return {
    path: file,
    projectId,
    existed,
    async write(id: ProjectId): Promise<void> {
      check();
      await writeFile(file, id, { mode: 0o600 });
    },
    async remove(): Promise<void> {
      check();
      await rm(file, { force: true });
    },
    release,
  };
}
