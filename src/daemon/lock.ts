import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from '../base/abort.js';
import { errnoCode, MutagenError } from '../base/errors.js';

/**
 * Single-instance lock for the daemon (cli spec §10.4). Node has no flock, so the lock is a
 * file that holds its owner's pid (and, on Linux, the owner's start time so a recycled pid is
 * not mistaken for the owner). It is created with link(2), which is atomic and exclusive, so
 * the file never exists half-written. A lock whose owner is gone (SIGKILL) is stale: the next
 * process takes it over at once. Takeovers are serialised by a second exclusive marker file so
 * two newcomers can never both remove and re-create the lock.
 */
export interface LockOwner {
  readonly pid: number;
  readonly startTime: string | undefined;
}

export interface HeldLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

/** Takes the lock without waiting; throws MUTAGEN_DAEMON_LOCKED when a live process holds it. */
export async function acquireLock(file: string): Promise<HeldLock> {
  const self: LockOwner = { pid: process.pid, startTime: processStartTime(process.pid) };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await tryCreate(file, self)) return heldLock(file, self);
    const owner = await readOwner(file);
    if (owner !== undefined && isAlive(owner)) {
      throw new MutagenError('MUTAGEN_DAEMON_LOCKED', `unable to acquire daemon lock: held by process ${owner.pid}`, {
        hint: 'Another daemon is running for this data directory; stop it with "mutagen daemon stop".',
      });
    }
    await takeOver(file, owner, self);
  }
  throw new MutagenError('MUTAGEN_DAEMON_LOCKED', 'unable to acquire daemon lock: lock file keeps changing');
}

/** The live owner of the lock at `file`, or undefined when it is free or stale. */
export async function lockOwner(file: string): Promise<LockOwner | undefined> {
  const owner = await readOwner(file);
  return owner !== undefined && isAlive(owner) ? owner : undefined;
}

/** Waits until nobody holds the lock (polling), up to `timeoutMs`. Returns whether it was released. */
export async function waitForLockRelease(file: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await lockOwner(file)) === undefined) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50, signal);
  }
}

function encodeOwner(owner: LockOwner): string {
  return `${owner.pid}\n${owner.startTime ?? ''}\n`;
}

function decodeOwner(text: string): LockOwner | undefined {
  const [pidText, startText] = text.split('\n');
  if (pidText === undefined || !/^[1-9][0-9]*$/.test(pidText)) return undefined;
  return { pid: Number(pidText), startTime: startText === undefined || startText === '' ? undefined : startText };
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    return decodeOwner(await readFile(file, 'utf8'));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new MutagenError('MUTAGEN_DAEMON_LOCKED', `unable to acquire daemon lock: unable to read ${file}: ${String(errnoCode(error) ?? error)}`, { cause: error });
  }
}

/** Atomically creates `file` holding `owner`, or returns false when it exists. */
async function tryCreate(file: string, owner: LockOwner): Promise<boolean> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}`);
  await writeFile(temporary, encodeOwner(owner), { mode: 0o600 });
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw new MutagenError('MUTAGEN_DAEMON_LOCKED', `unable to acquire daemon lock: ${String(errnoCode(error) ?? error)}`, { cause: error });
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Removes a stale lock while holding the takeover marker, if it still has the stale owner. */
async function takeOver(file: string, stale: LockOwner | undefined, self: LockOwner): Promise<void> {
  const marker = `${file}.takeover`;
  if (!(await tryCreate(marker, self))) {
    const other = await readOwner(marker);
    if (other !== undefined && isAlive(other)) {
      throw new MutagenError('MUTAGEN_DAEMON_LOCKED', `unable to acquire daemon lock: process ${other.pid} is taking it over`);
    }
    await rm(marker, { force: true });
    return;
  }
  try {
    const current = await readOwner(file);
    if (sameOwner(current, stale)) await rm(file, { force: true });
  } finally {
    await rm(marker, { force: true });
  }
}

function sameOwner(a: LockOwner | undefined, b: LockOwner | undefined): boolean {
  return a?.pid === b?.pid && a?.startTime === b?.startTime;
}

function heldLock(file: string, self: LockOwner): HeldLock {
  let released: Promise<void> | undefined;
  return {
    path: file,
    release(): Promise<void> {
      released ??= (async () => {
        if (sameOwner(await readOwner(file), self)) await rm(file, { force: true });
      })();
      return released;
    },
  };
}

/**
 * Whether the lock's owner still runs. A zombie (killed, not yet reaped by its parent) counts as
 * gone, and so does a recycled pid whose start time differs from the recorded one.
 */
function isAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if (errnoCode(error) !== 'EPERM') return false;
  }
  const stat = processStat(owner.pid);
  if (stat === undefined) return true;
  if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
  return owner.startTime === undefined || stat.startTime === owner.startTime;
}

/** Linux: state (field 3) and start time (field 22, clock ticks since boot) from /proc/<pid>/stat. */
function processStat(pid: number): { state: string | undefined; startTime: string | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return undefined;
  }
}

function processStartTime(pid: number): string | undefined {
  return processStat(pid)?.startTime;
}
