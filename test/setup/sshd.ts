/**
 * vitest globalSetup for tests against a real OpenSSH server (ARCHITECTURE.md §8).
 *
 * Starts two `sshd -D -e` children of /usr/sbin/sshd on 127.0.0.1, each on a free port, with
 * configs, keys and logs in one temp dir:
 *   main  ed25519 host key A; sftp subsystem (internal-sftp); the server the tests talk to.
 *   jump  ed25519 host key B; NO sftp subsystem (tests copy()'s exec fallback on it); LogLevel
 *         DEBUG1 so its log shows each direct-tcpip channel (tests check a ProxyJump used it).
 * Both: keys only (no password, no keyboard-interactive), UsePAM no, StrictModes no,
 * PermitRootLogin prohibit-password, AllowTcpForwarding yes, AuthorizedKeysFile in the temp dir
 * (the real ~/.ssh is never touched), `SetEnv MUTAGEN_DATA_DIRECTORY=<tmp>/remote`.
 * Ready = a TCP connect reads the `SSH-2.0-` banner. Teardown stops both by pid.
 *
 * Tests read inject('sshd') (see test/helpers/sshd.ts). Without /usr/sbin/sshd: under CI=true
 * the setup throws; locally the ssh tests skip with the reason.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

export interface SshdServer {
  readonly port: number;
  readonly pid: number;
  /** sshd's stderr (its log). */
  readonly log: string;
  /** `ssh-ed25519 AAAA…` (no comment). */
  readonly hostKey: string;
}

export type SshdTestEnvironment =
  | {
      readonly available: true;
      readonly directory: string;
      /** os.userInfo().username: the user the tests log in as. */
      readonly user: string;
      /** Private key authorized on both servers (0600). */
      readonly clientKey: string;
      readonly main: SshdServer;
      readonly jump: SshdServer;
      /** known_hosts lines for both servers (`[127.0.0.1]:<port> ssh-ed25519 …`). */
      readonly knownHosts: string;
      /** What MUTAGEN_DATA_DIRECTORY is on the remote side. */
      readonly remoteDataDirectory: string;
    }
  | { readonly available: false; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    sshd: SshdTestEnvironment;
  }
}

const SSHD = '/usr/sbin/sshd';
const execFileAsync = promisify(execFile);

interface Running extends SshdServer {
  readonly exited: Promise<void>;
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    await access(SSHD);
  } catch {
    const reason = `ssh tests need OpenSSH's server at ${SSHD} (Debian: apt-get install openssh-server)`;
    if (process.env['CI'] === 'true') throw new Error(reason);
    project.provide('sshd', { available: false, reason });
    return () => Promise.resolve();
  }
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mts-'));
  const running: Running[] = [];
  const teardown = async (): Promise<void> => {
    await Promise.all(running.map((server) => stop(server)));
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
    const remoteDataDirectory = path.join(directory, 'remote');
    await mkdir(remoteDataDirectory);
    const clientKey = await keygen(path.join(directory, 'client_ed25519'));
    await writeFile(path.join(directory, 'authorized_keys'), await readFile(`${clientKey}.pub`, 'utf8'), { mode: 0o600 });
    const main = await startSshd(directory, 'main', { sftp: true, logLevel: 'VERBOSE', remoteDataDirectory });
    running.push(main);
    const jump = await startSshd(directory, 'jump', { sftp: false, logLevel: 'DEBUG1', remoteDataDirectory });
    running.push(jump);
    const knownHosts = [main, jump].map((server) => `[127.0.0.1]:${server.port} ${server.hostKey}\n`).join('');
    project.provide('sshd', {
      available: true, directory, user: os.userInfo().username, clientKey,
      main: publicPart(main), jump: publicPart(jump), knownHosts, remoteDataDirectory,
    });
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}

function publicPart(server: Running): SshdServer {
  return { port: server.port, pid: server.pid, log: server.log, hostKey: server.hostKey };
}

async function keygen(file: string): Promise<string> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', file]);
  await chmod(file, 0o600);
  return file;
}

interface SshdOptions {
  readonly sftp: boolean;
  readonly logLevel: string;
  readonly remoteDataDirectory: string;
  /** Default `publickey` (the shared servers). The others are for one test's own server. */
  readonly authentication?: 'publickey' | 'password' | 'keyboard-interactive';
}

/** A server started by one test file (not the shared ones): stop it in afterAll. */
export interface OwnSshd {
  readonly server: SshdServer;
  stop(): Promise<void>;
}

/**
 * Starts one more sshd like the shared ones (same conventions, files in `directory`), accepting
 * only `authentication`: `password` checks /etc/shadow itself (UsePAM no); `keyboard-interactive`
 * asks through PAM (Debian's /etc/pam.d/sshd, pam_unix). Stop it by its pid with stop().
 */
export async function startOwnSshd(directory: string, name: string, options: Omit<SshdOptions, 'sftp'>): Promise<OwnSshd> {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
  const running = await startSshd(directory, name, { ...options, sftp: true });
  return { server: publicPart(running), stop: () => stop(running) };
}

async function startSshd(directory: string, name: string, options: SshdOptions): Promise<Running> {
  const hostKeyFile = await keygen(path.join(directory, `host_${name}_ed25519`));
  const hostKey = (await readFile(`${hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(directory, `sshd_${name}.conf`);
    await writeFile(config, sshdConfig(directory, name, port, hostKeyFile, options));
    try {
      return { ...await spawnSshd(config, path.join(directory, `sshd_${name}.log`), port), hostKey };
    } catch (error) {
      lastError = error; // most likely the port was taken in between: try another one
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function sshdConfig(directory: string, name: string, port: number, hostKeyFile: string, options: SshdOptions): string {
  return [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${hostKeyFile}`,
    `PidFile ${path.join(directory, `sshd_${name}.pid`)}`,
    `AuthorizedKeysFile ${path.join(directory, 'authorized_keys')}`,
    ...authenticationLines(options.authentication ?? 'publickey'),
    'StrictModes no',
    'AllowTcpForwarding yes',
    'PrintMotd no',
    `LogLevel ${options.logLevel}`,
    `SetEnv MUTAGEN_DATA_DIRECTORY=${options.remoteDataDirectory}`,
    ...(options.sftp ? ['Subsystem sftp internal-sftp'] : []),
    '',
  ].join('\n');
}

function authenticationLines(method: 'publickey' | 'password' | 'keyboard-interactive'): string[] {
  const yes = (on: boolean): string => (on ? 'yes' : 'no');
  return [
    `PubkeyAuthentication ${yes(method === 'publickey')}`,
    `PasswordAuthentication ${yes(method === 'password')}`,
    `KbdInteractiveAuthentication ${yes(method === 'keyboard-interactive')}`,
    `UsePAM ${yes(method === 'keyboard-interactive')}`,
    `PermitRootLogin ${method === 'publickey' ? 'prohibit-password' : 'no'}`,
    `AuthenticationMethods ${method}`,
  ];
}

async function spawnSshd(config: string, logFile: string, port: number): Promise<Omit<Running, 'hostKey'>> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.pipe(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`unable to spawn ${SSHD}`);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('close', (code) => {
      exitCode = code;
      log.end();
      resolve();
    });
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`sshd exited with code ${String(exitCode)}: ${(await readFile(logFile, 'utf8').catch(() => '')).slice(-2000)}`);
    }
    if (await readsBanner(port)) return { port, pid, log: logFile, exited };
    if (Date.now() > deadline) {
      killPid(pid, 'SIGKILL');
      throw new Error(`sshd did not answer on 127.0.0.1:${port} within 20s`);
    }
    await delay(50);
  }
}

/** True when a TCP connect to the port reads the `SSH-2.0-` banner. */
function readsBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\n') || received.length >= 8) done(received.startsWith('SSH-2.0-'));
    });
    socket.on('end', () => done(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function stop(server: Running): Promise<void> {
  killPid(server.pid, 'SIGTERM');
  const stopped = await Promise.race([server.exited.then(() => true), delay(5000).then(() => false)]);
  if (!stopped) {
    killPid(server.pid, 'SIGKILL');
    await server.exited;
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
