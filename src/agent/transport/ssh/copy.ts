import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import { cancelledError } from '../../../base/abort.js';
import { errorMessage, isAbortError, MutagenError, TransportError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { CopyOptions, CopySource } from '../transport.js';
import type { SshConnection } from './connect.js';
import { commandLine, SshProcess } from './process.js';

/**
 * Uploads to a temporary name beside `remotePath`, sets the mode, then renames over the final
 * name, so a partial upload never sits there. SFTP when the server has it (posix-rename when
 * offered), else `cat >` through an exec channel. Relative paths are relative to the home.
 */
export async function copyToRemote(connection: SshConnection, source: CopySource, remotePath: string, options: CopyOptions & { logger: Logger }, signal: AbortSignal): Promise<void> {
  const temporary = path.posix.join(path.posix.dirname(remotePath), `.mutagen-upload-${randomBytes(6).toString('hex')}`);
  let sftp: SFTPWrapper | undefined;
  try {
    sftp = await connection.sftp(signal);
  } catch (error) {
    if (isAbortError(error)) throw error;
    options.logger.debug('sftp unavailable; copying through cat', { error: errorMessage(error) });
  }
  try {
    if (sftp === undefined) await copyWithCat(connection, source, { remotePath, temporary, ...options }, signal);
    else await copyWithSftp(sftp, source, { remotePath, temporary, ...options }, signal);
  } catch (error) {
    if (isAbortError(error) || signal.aborted) throw cancelledError();
    if (error instanceof MutagenError) throw error;
    throw new TransportError(`unable to copy to ${remotePath} on ${connection.description}: ${errorMessage(error)}`, { cause: error });
  } finally {
    sftp?.end();
  }
}

interface Target extends CopyOptions { readonly remotePath: string; readonly temporary: string }

async function copyWithSftp(sftp: SFTPWrapper, source: CopySource, target: Target, signal: AbortSignal): Promise<void> {
  const counter = new ByteCounter(target.onProgress);
  try {
    await pipeline(source.open(), counter, sftp.createWriteStream(target.temporary, { mode: target.mode, flags: 'w' }), { signal });
    checkSize(counter.bytes, source.size);
    await call((done) => sftp.chmod(target.temporary, target.mode, done));
    await call((done) => sftp.ext_openssh_rename(target.temporary, target.remotePath, done)).catch(async (error: unknown) => {
      if (!/not support/i.test(errorMessage(error))) throw error;
      // Plain SFTP rename refuses to replace: remove the old file first (brief window without it).
      await call((done) => sftp.unlink(target.remotePath, done)).catch(() => undefined);
      await call((done) => sftp.rename(target.temporary, target.remotePath, done));
    });
  } catch (error) {
    await call((done) => sftp.unlink(target.temporary, done)).catch(() => undefined);
    throw error;
  }
}

async function copyWithCat(connection: SshConnection, source: CopySource, target: Target, signal: AbortSignal): Promise<void> {
  const mode = (target.mode & 0o7777).toString(8);
  const temporary = commandLine([target.temporary]);
  const script = `umask 077 && cat > ${temporary} && chmod ${mode} ${temporary} && mv -f ${temporary} ${commandLine([target.remotePath])} || { rm -f ${temporary}; exit 1; }`;
  const channel = await connection.exec(commandLine(['sh', '-c', script]), signal);
  const child = new SshProcess(channel, connection.closed);
  const counter = new ByteCounter(target.onProgress);
  try {
    child.stdout.resume();
    await pipeline(source.open(), counter, child.stdin, { signal });
    checkSize(counter.bytes, source.size);
    const exit = await child.exit;
    if (exit.code !== 0) {
      throw new TransportError(`unable to copy to ${target.remotePath} on ${connection.description}: ${child.stderr().trim() || `exit code ${String(exit.code)}`}`);
    }
  } finally {
    await child.close();
  }
}

function checkSize(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`source produced ${actual} bytes, expected ${expected}`);
}

function call(run: (done: (error: Error | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    run((error) => (error === null || error === undefined ? resolve() : reject(error)));
  });
}

class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly onProgress: ((bytes: number) => void) | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    callback(null, chunk);
  }
}
