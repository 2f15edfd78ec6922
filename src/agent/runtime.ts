import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { cancelledError } from '../base/abort.js';
import { errnoCode, errorMessage, MutagenError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { Libc, ProbeResult, RemotePlatform } from './probe.js';
import { MINIMUM_NODE_TEXT } from './probe-scripts.js';
import { quoteOutput, runCommand } from './remote-command.js';
import type { Transport } from './transport/transport.js';

/** The platform of this process's Node.js (what an uploaded runtime can run on). */
export function localPlatform(): RemotePlatform {
  let libc: Libc = 'unknown';
  if (process.platform === 'linux') {
    const report: unknown = process.report.getReport();
    const header: unknown = typeof report === 'object' && report !== null && 'header' in report ? report.header : undefined;
    const glibc = typeof header === 'object' && header !== null && 'glibcVersionRuntime' in header ? header.glibcVersionRuntime : undefined;
    libc = typeof glibc === 'string' && glibc !== '' ? 'glibc' : 'musl';
  }
  return { os: process.platform, arch: process.arch, libc };
}

export function describePlatform(platform: RemotePlatform): string {
  return `${platform.os}/${platform.arch}${platform.os === 'linux' ? ` (${platform.libc})` : ''}`;
}

/** Why this machine's Node.js cannot run on the remote, or undefined when it can. */
export function runtimeMismatch(local: RemotePlatform, probe: ProbeResult): string | undefined {
  const remote = probe.platform;
  if (local.os !== 'linux' || remote.os !== 'linux') return `a runtime can only be uploaded between Linux machines (remote ${describePlatform(remote)}, local ${describePlatform(local)})`;
  if (local.arch !== remote.arch) return `the remote's architecture ${remote.arch} differs from the local ${local.arch}`;
  if (remote.libc !== local.libc) return `the remote's C library (${remote.libc}) differs from the local ${local.libc}`;
  if (!probe.shell) return 'the remote has no shell (sh) to unpack a runtime';
  if (!probe.writable) return `the data directory ${probe.dataDirectory} is not writable`;
  return undefined;
}

/** This machine's Node.js executable, compressed once into the local cache. */
export interface RuntimeArchive {
  readonly digest: string;
  /** Local path of what is uploaded (`.gz`, or the executable itself when not compressed). */
  readonly file: string;
  readonly size: number;
  readonly compressed: boolean;
}

async function fileDigest(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash, { signal });
  return hash.digest('hex');
}

/**
 * Compresses `process.execPath` into `<local data>/agents/runtimes/<sha256>.gz` (reused while
 * it exists; written to a temporary name and renamed, so never partial).
 */
export async function prepareRuntimeArchive(localDataDirectory: string, compress: boolean, signal: AbortSignal): Promise<RuntimeArchive> {
  const digest = await fileDigest(process.execPath, signal);
  if (!compress) return { digest, file: process.execPath, size: (await stat(process.execPath)).size, compressed: false };
  const directory = path.join(localDataDirectory, 'agents', 'runtimes');
  const file = path.join(directory, `${digest}.gz`);
  try {
    return { digest, file, size: (await stat(file)).size, compressed: true };
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await pipeline(createReadStream(process.execPath), createGzip({ level: 6 }), createWriteStream(temporary, { mode: 0o600 }), { signal });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { digest, file, size: (await stat(file)).size, compressed: true };
}

const MIB = 1024 * 1024;

function mebibytes(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

/** Remote half: unpack (or just place) the upload, make it executable, move it in, report its version. */
const UNPACK_SCRIPT = `
set -e
upload=$1; compressed=$2; directory=$3
mkdir -p "$directory"
temporary="$directory/.node-$$"
trap 'rm -f "$temporary"' EXIT
if [ "$compressed" = 1 ]; then gzip -dc "$upload" > "$temporary"; rm -f "$upload"; else mv -f "$upload" "$temporary"; fi
chmod 755 "$temporary"
mv -f "$temporary" "$directory/node"
"$directory/node" -e 'process.stdout.write(process.versions.node)'
`;

export interface UploadRuntimeOptions {
  readonly archive: RuntimeArchive;
  readonly logger: Logger;
  readonly onStatus?: (message: string) => void;
}

/**
 * Uploads the local Node.js runtime to `<data>/agents/runtimes/<digest>/node` and checks that it
 * runs there. Returns its remote path. Fails with MUTAGEN_AGENT.
 */
export async function uploadRuntime(transport: Transport, probe: ProbeResult, options: UploadRuntimeOptions, signal: AbortSignal): Promise<string> {
  const { archive } = options;
  const runtimes = path.posix.join(probe.dataDirectory, 'agents', 'runtimes');
  const directory = path.posix.join(runtimes, archive.digest);
  const upload = path.posix.join(runtimes, `.upload-${randomUUID()}${archive.compressed ? '.gz' : ''}`);
  const prepared = await runCommand(transport, ['sh', '-c', 'umask 077; mkdir -p "$1"', 'sh', runtimes], signal);
  if (prepared.code !== 0) {
    throw new MutagenError('MUTAGEN_AGENT', `unable to create ${runtimes} on ${transport.description}: ${quoteOutput(prepared.stderr)}`);
  }
  const total = mebibytes(archive.size);
  let reported = -1;
  options.onStatus?.(`Uploading Node.js runtime (0.0 of ${total} MiB)`);
  try {
    await transport.copy({ size: archive.size, open: () => createReadStream(archive.file) }, upload, {
      mode: 0o600,
      onProgress: (bytes) => {
        const step = Math.floor(bytes / (4 * MIB));
        if (step === reported) return;
        reported = step;
        options.onStatus?.(`Uploading Node.js runtime (${mebibytes(bytes)} of ${total} MiB)`);
      },
    }, signal);
  } catch (error) {
    if (signal.aborted) throw cancelledError();
    throw new MutagenError('MUTAGEN_AGENT', `unable to upload the Node.js runtime to ${transport.description}: ${errorMessage(error)}`, { cause: error });
  }
  options.onStatus?.('Unpacking Node.js runtime...');
  const unpacked = await runCommand(transport, ['sh', '-c', UNPACK_SCRIPT, 'sh', upload, archive.compressed ? '1' : '0', directory], signal);
  if (unpacked.code !== 0 || unpacked.stdout !== process.versions.node) {
    await runCommand(transport, ['rm', '-f', upload], signal).catch(() => undefined);
    throw new MutagenError('MUTAGEN_AGENT', `the uploaded Node.js runtime does not run on ${transport.description}: ${quoteOutput(unpacked.stderr || unpacked.stdout)}`, {
      hint: `Install Node.js ${MINIMUM_NODE_TEXT} or newer on the remote instead.`,
    });
  }
  options.logger.info('uploaded Node.js runtime', { remote: transport.description, path: `${directory}/node`, bytes: archive.size });
  return `${directory}/node`;
}
