/**
 * The tests' OpenSSH server (test/setup/sshd.ts: sshd on 127.0.0.1, keys only, AllowTcpForwarding
 * yes — the referee's sshd refuses forwarding, so `ssh -L` could not run against it) and a temp
 * HOME whose ~/.ssh/config names it `mutagen-test` (test/helpers/sshd.ts), used by both the
 * OpenSSH client (`ssh -F`) and mutagen (which reads the same file).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SSH_TEST_HOST, sshTestHome, type SshTestHome } from '../../test/helpers/sshd.js';
import { setup as sshdSetup } from '../../test/setup/sshd.js';
import { runGlobalSetup } from './global-setup.js';

export interface BenchSshd {
  /** The ~/.ssh/config alias of the server. */
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly home: SshTestHome;
  /** MUTAGEN_DATA_DIRECTORY of sessions on the server (agents install below it). */
  readonly remoteDataDirectory: string;
  close(): Promise<void>;
}

export async function startSshd(): Promise<BenchSshd> {
  const { provided, teardown } = await runGlobalSetup(sshdSetup);
  const sshd = provided.sshd;
  if (sshd === undefined || !sshd.available) {
    await teardown();
    throw new Error(sshd === undefined ? 'test/setup/sshd.ts provided no sshd' : sshd.reason);
  }
  try {
    const home = await sshTestHome(sshd, { makeDirectory: (prefix) => mkdtemp(path.join(os.tmpdir(), prefix ?? 'mtb-home-')) });
    let closed: Promise<void> | undefined;
    const close = async (): Promise<void> => {
      await rm(home.home, { recursive: true, force: true });
      await teardown();
    };
    return {
      host: SSH_TEST_HOST, port: sshd.main.port, pid: sshd.main.pid, home, remoteDataDirectory: sshd.remoteDataDirectory,
      close: () => (closed ??= close()),
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}
