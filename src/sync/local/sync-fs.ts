import {
  chmodSync, chownSync, copyFileSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync,
  renameSync, rmdirSync, rmSync, symlinkSync, unlinkSync, type BigIntStats, type Dirent, type MakeDirectoryOptions,
  type RmOptions, type Stats,
} from 'node:fs';
import { asError } from '../../base/errors.js';

/**
 * Promise-shaped wrappers around the synchronous file-system calls used by staging and
 * transitions. Transitions touch many small files one after the other; a synchronous syscall
 * costs a few microseconds, while a thread-pool round trip per call costs tens (measured: an
 * initial sync of 20,000 files spent most of its time idle waiting on the pool). Callers give
 * the event loop a turn between entries (base/yielder.ts). Errors become rejections, so the
 * call sites keep their async shape and error handling.
 */
function call<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(asError(error));
  }
}

export function lstat(file: string): Promise<Stats>;
export function lstat(file: string, options: { bigint: true }): Promise<BigIntStats>;
export function lstat(file: string, options?: { bigint: true }): Promise<Stats | BigIntStats> {
  return call(() => (options?.bigint === true ? lstatSync(file, { bigint: true }) : lstatSync(file)));
}

export function readdir(directory: string): Promise<string[]>;
export function readdir(directory: string, options: { withFileTypes: true }): Promise<Dirent[]>;
export function readdir(directory: string, options: { encoding: 'buffer' }): Promise<Buffer[]>;
export function readdir(directory: string, options?: { withFileTypes: true } | { encoding: 'buffer' }): Promise<string[] | Dirent[] | Buffer[]> {
  return call(() => {
    if (options === undefined) return readdirSync(directory);
    if ('withFileTypes' in options) return readdirSync(directory, { withFileTypes: true });
    return readdirSync(directory, { encoding: 'buffer' });
  });
}

export const chmod = (file: string, mode: number): Promise<void> => call(() => chmodSync(file, mode));
export const chown = (file: string, uid: number, gid: number): Promise<void> => call(() => chownSync(file, uid, gid));
export const lchown = (file: string, uid: number, gid: number): Promise<void> => call(() => lchownSync(file, uid, gid));
export const copyFile = (source: string, destination: string, mode?: number): Promise<void> => call(() => copyFileSync(source, destination, mode));
export const link = (existing: string, created: string): Promise<void> => call(() => linkSync(existing, created));
export const mkdir = (directory: string, options?: MakeDirectoryOptions): Promise<string | undefined> => call(() => mkdirSync(directory, options));
export const readlink = (file: string): Promise<string> => call(() => readlinkSync(file));
export const rename = (source: string, destination: string): Promise<void> => call(() => renameSync(source, destination));
export const rm = (target: string, options?: RmOptions): Promise<void> => call(() => rmSync(target, options));
export const rmdir = (directory: string): Promise<void> => call(() => rmdirSync(directory));
export const symlink = (target: string, file: string): Promise<void> => call(() => symlinkSync(target, file));
export const unlink = (file: string): Promise<void> => call(() => unlinkSync(file));
