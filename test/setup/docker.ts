/**
 * vitest globalSetup for tests against a real Docker engine (ARCHITECTURE.md §8).
 *
 * Uses an engine that answers a ping (DOCKER_HOST, else /var/run/docker.sock); otherwise spawns
 * its own `dockerd` on a socket in a temp dir (needs root) and stops it by pid in teardown. Then
 * imports three tiny images built from host binaries (no registry):
 *   node    node + sh, env, id, coreutils (+ their libraries), /etc/passwd with root and app (1000)
 *   nonode  the same without node (its shared libraries stay: a distro without Node.js)
 *   noshell node and its libraries only: no sh, env or id
 * named `mutagen-ts-test/<variant>:<hash of the recipe and the host files>`, reused while the hash
 * matches. Tests read the result with inject('docker') (see test/helpers/docker.ts). Without an
 * engine: under CI=true the setup fails; locally the docker tests skip with the reason.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, openSync } from 'node:fs';
import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { TestProject } from 'vitest/node';

export interface DockerTestImage {
  readonly name: string;
  /** argv that keeps a container of this image running (PID 1). */
  readonly keepAlive: readonly string[];
}

export type DockerTestEnvironment =
  | {
      readonly available: true;
      /** `unix:///…/docker.sock`: pass as the captured DOCKER_HOST. */
      readonly dockerHost: string;
      readonly images: { readonly node: DockerTestImage; readonly nonode: DockerTestImage; readonly noshell: DockerTestImage };
      /** Label put on every test container (teardown removes leftovers by it). */
      readonly label: string;
    }
  | { readonly available: false; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    docker: DockerTestEnvironment;
  }
}

const execFileAsync = promisify(execFile);
const RECIPE_VERSION = '1';
export const TEST_CONTAINER_LABEL = 'mutagen-ts-test';
const COMMON_BINARIES = ['sh', 'env', 'id', 'uname', 'mkdir', 'mv', 'rm', 'cat', 'gzip', 'chmod', 'ls', 'stat', 'sleep', 'chown', 'kill'];

function log(message: string): void {
  process.stderr.write(`[docker setup] ${message}\n`);
}

async function ping(host: string): Promise<Docker | undefined> {
  if (!host.startsWith('unix://')) return undefined;
  const docker = new Docker({ socketPath: host.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http', timeout: 5000 });
  try {
    await docker.ping();
    return docker;
  } catch {
    return undefined;
  }
}

interface SpawnedDaemon {
  readonly host: string;
  readonly directory: string;
  readonly pid: number;
  readonly exited: Promise<void>;
}

/** Spawns dockerd on a private socket; resolves once it answers a ping, rejects with its log tail. */
async function spawnDockerd(binary: string, storageDriver: string | undefined): Promise<SpawnedDaemon> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mtd-'));
  const host = `unix://${directory}/docker.sock`;
  const logFile = path.join(directory, 'dockerd.log');
  const logFd = openSync(logFile, 'a');
  const args = [
    '--host', host, '--data-root', `${directory}/data`, '--exec-root', `${directory}/exec`, '--pidfile', `${directory}/dockerd.pid`,
    '--bridge=none', '--iptables=false', '--ip6tables=false', '--shutdown-timeout=2', '--log-level=warn',
    ...(storageDriver === undefined ? [] : [`--storage-driver=${storageDriver}`]),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => { gone = true; });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !gone) {
    if ((await ping(host)) !== undefined && child.pid !== undefined) return { host, directory, pid: child.pid, exited };
    await delay(100);
  }
  if (!gone) child.kill('SIGKILL');
  await exited;
  const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '').slice(-8).join('\n');
  await rm(directory, { recursive: true, force: true }).catch(() => undefined);
  throw new Error(`dockerd did not become ready${storageDriver === undefined ? '' : ` (storage driver ${storageDriver})`}:\n${tail}`);
}

async function stopDockerd(daemon: SpawnedDaemon): Promise<void> {
  const containerdPid = await readFile(path.join(daemon.directory, 'exec/containerd/containerd.pid'), 'utf8').then(Number, () => undefined);
  try {
    process.kill(daemon.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  const stopped = await Promise.race([daemon.exited.then(() => true), delay(20_000, undefined, { ref: false }).then(() => false)]);
  if (!stopped) {
    log(`dockerd (pid ${daemon.pid}) ignored SIGTERM for 20 s: SIGKILL`);
    process.kill(daemon.pid, 'SIGKILL');
    await daemon.exited;
    // dockerd's own containerd child outlives a SIGKILLed dockerd: stop it by its pid file.
    if (containerdPid !== undefined && Number.isSafeInteger(containerdPid) && containerdPid > 0) {
      try { process.kill(containerdPid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  await rm(daemon.directory, { recursive: true, force: true }).catch((error: unknown) => log(`unable to remove ${daemon.directory}: ${String(error)}`));
}

async function findBinary(name: string): Promise<string | undefined> {
  for (const directory of (process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const candidate = path.join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Next.
    }
  }
  return undefined;
}

// --- image building: a tar stream written here (ownership per entry, no root or tar CLI needed) ---

type ImageEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode: number; readonly uid?: number }
  | { readonly kind: 'file'; readonly path: string; readonly mode: number; readonly source: string }
  | { readonly kind: 'text'; readonly path: string; readonly mode: number; readonly content: string }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

function tarHeader(name: string, options: { size: number; mode: number; uid: number; gid: number; type: string; link?: string }): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`image path too long for ustar: ${name}`);
  const block = Buffer.alloc(512);
  const octal = (value: number, offset: number, length: number): void => {
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
  };
  block.write(name, 0, 100, 'utf8');
  octal(options.mode, 100, 8);
  octal(options.uid, 108, 8);
  octal(options.gid, 116, 8);
  octal(options.size, 124, 12);
  octal(0, 136, 12);
  block.write('        ', 148, 8, 'ascii');
  block.write(options.type, 156, 1, 'ascii');
  if (options.link !== undefined) block.write(options.link, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  octal(sum, 148, 7);
  block[155] = 0x20;
  return block;
}

async function* imageTar(entries: readonly ImageEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const name = entry.path.replace(/^\//, '');
    if (entry.kind === 'dir') {
      const uid = entry.uid ?? 0;
      yield tarHeader(`${name}/`, { size: 0, mode: entry.mode, uid, gid: uid, type: '5' });
    } else if (entry.kind === 'symlink') {
      yield tarHeader(name, { size: 0, mode: 0o777, uid: 0, gid: 0, type: '2', link: entry.target });
    } else if (entry.kind === 'text') {
      const content = Buffer.from(entry.content);
      yield tarHeader(name, { size: content.length, mode: entry.mode, uid: 0, gid: 0, type: '0' });
      yield Buffer.concat([content, Buffer.alloc((512 - (content.length % 512)) % 512)]);
    } else {
      const { size } = await stat(entry.source);
      yield tarHeader(name, { size, mode: entry.mode, uid: 0, gid: 0, type: '0' });
      let copied = 0;
      for await (const chunk of createReadStream(entry.source)) {
        copied += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (copied !== size) throw new Error(`${entry.source} changed while building the image`);
      yield Buffer.alloc((512 - (size % 512)) % 512);
    }
  }
  yield Buffer.alloc(1024);
}

async function libraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileAsync('ldd', [binary]).catch(() => ({ stdout: '' }));
  return [...stdout.matchAll(/(\/\S+)/g)].map((match) => match[1] ?? '').filter((file) => file !== '');
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\n';

/** `binaries` go to /usr/bin with their libraries; `librariesOf` contribute only their libraries. */
async function imageEntries(binaries: readonly string[], librariesOf: readonly string[] = []): Promise<ImageEntry[]> {
  const files = new Map<string, ImageEntry>();
  for (const name of [...binaries, ...librariesOf]) {
    const source = await findBinary(name);
    if (source === undefined) throw new Error(`host binary ${name} not found (needed for the test images)`);
    if (binaries.includes(name)) files.set(`/usr/bin/${name}`, { kind: 'file', path: `/usr/bin/${name}`, mode: 0o755, source });
    for (const library of await libraries(source)) files.set(library, { kind: 'file', path: library, mode: 0o755, source: library });
  }
  const directories = new Set<string>(['/usr', '/usr/bin', '/etc']);
  for (const file of files.keys()) {
    for (let dir = path.posix.dirname(file); dir !== '/'; dir = path.posix.dirname(dir)) directories.add(dir);
  }
  return [
    ...[...directories].sort().map((dir): ImageEntry => ({ kind: 'dir', path: dir, mode: 0o755 })),
    { kind: 'symlink', path: '/bin', target: 'usr/bin' },
    { kind: 'dir', path: '/tmp', mode: 0o1777 },
    { kind: 'dir', path: '/root', mode: 0o700 },
    { kind: 'dir', path: '/home', mode: 0o755 },
    { kind: 'dir', path: '/home/app', mode: 0o755, uid: 1000 },
    { kind: 'text', path: '/etc/passwd', mode: 0o644, content: PASSWD },
    { kind: 'text', path: '/etc/group', mode: 0o644, content: GROUP },
    ...[...files.values()].sort((a, b) => a.path.localeCompare(b.path)),
  ];
}

async function recipeHash(entries: readonly ImageEntry[]): Promise<string> {
  const hash = createHash('sha256').update(RECIPE_VERSION);
  for (const entry of entries) {
    hash.update(JSON.stringify(entry));
    if (entry.kind === 'file') {
      const info = await stat(entry.source);
      hash.update(`${info.size}:${info.mtimeMs}:${info.ino}`);
    }
  }
  return hash.digest('hex').slice(0, 16);
}

async function ensureImage(docker: Docker, variant: string, binaries: readonly string[], librariesOf: readonly string[] = []): Promise<string> {
  const entries = await imageEntries(binaries, librariesOf);
  const tag = await recipeHash(entries);
  const name = `mutagen-ts-test/${variant}:${tag}`;
  try {
    await docker.getImage(name).inspect();
    return name;
  } catch {
    // Not there yet: import it.
  }
  const started = Date.now();
  const output = await docker.importImage(Readable.from(imageTar(entries)), { repo: `mutagen-ts-test/${variant}`, tag });
  const events = await new Promise<unknown[]>((resolve, reject) => {
    docker.modem.followProgress(output, (error: Error | null, result: unknown[]) => (error === null ? resolve(result) : reject(error)));
  });
  const failure = events.find((event): event is { error: string } => typeof event === 'object' && event !== null && 'error' in event);
  if (failure !== undefined) throw new Error(`docker import of ${name} failed: ${failure.error}`);
  log(`imported ${name} in ${Date.now() - started} ms`);
  return name;
}

async function buildImages(docker: Docker): Promise<Extract<DockerTestEnvironment, { available: true }>['images']> {
  const sleepForever = ['sleep', 'infinity'];
  const nodeForever = ['/usr/bin/node', '-e', 'setInterval(() => {}, 1 << 30)'];
  const node = await ensureImage(docker, 'node', ['node', ...COMMON_BINARIES]);
  // A glibc system without node (node's libraries present, as in most distributions): the
  // dialer's runtime upload must work there.
  const nonode = await ensureImage(docker, 'nonode', COMMON_BINARIES, ['node']);
  const noshell = await ensureImage(docker, 'noshell', ['node']);
  return { node: { name: node, keepAlive: sleepForever }, nonode: { name: nonode, keepAlive: sleepForever }, noshell: { name: noshell, keepAlive: nodeForever } };
}

async function removeLeftovers(docker: Docker): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [TEST_CONTAINER_LABEL] } }).catch(() => []);
  await Promise.all(containers.map((info) => docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined)));
}

async function locateEngine(): Promise<{ docker: Docker; host: string; daemon?: SpawnedDaemon } | { reason: string }> {
  const existing = process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
  const found = await ping(existing);
  if (found !== undefined) return { docker: found, host: existing };
  const binary = await findBinary('dockerd');
  if (binary === undefined) return { reason: `no Docker engine at ${existing} and no dockerd binary` };
  if (process.getuid?.() !== 0) return { reason: `no Docker engine at ${existing}, and dockerd needs root` };
  let firstError = '';
  for (const driver of [undefined, 'vfs']) {
    try {
      const started = Date.now();
      const daemon = await spawnDockerd(binary, driver);
      log(`started dockerd (pid ${daemon.pid}${driver === undefined ? '' : `, ${driver}`}) in ${Date.now() - started} ms`);
      const docker = await ping(daemon.host);
      if (docker !== undefined) return { docker, host: daemon.host, daemon };
    } catch (error) {
      firstError ||= error instanceof Error ? error.message : String(error);
    }
  }
  return { reason: firstError };
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const engine = await locateEngine();
  if ('reason' in engine) {
    const reason = `docker tests need a Docker engine: ${engine.reason}`;
    if (process.env['CI'] === 'true') throw new Error(reason);
    log(`${reason} (skipping them)`);
    project.provide('docker', { available: false, reason });
    return () => Promise.resolve();
  }
  const { docker, host, daemon } = engine;
  const teardown = async (): Promise<void> => {
    const started = Date.now();
    await removeLeftovers(docker);
    if (daemon !== undefined) await stopDockerd(daemon);
    log(`teardown took ${Date.now() - started} ms`);
  };
  try {
    const started = Date.now();
    const images = await buildImages(docker);
    log(`images ready in ${Date.now() - started} ms`);
    project.provide('docker', { available: true, dockerHost: host, images, label: TEST_CONTAINER_LABEL });
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
