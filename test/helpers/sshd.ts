import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, inject, it } from 'vitest';
import type { SshdTestEnvironment } from '../setup/sshd.js';
import { makeTempDirectory } from './temp.js';

export type AvailableSshd = Extract<SshdTestEnvironment, { available: true }>;

/** The alias sshTestHome() maps to the main test sshd. */
export const SSH_TEST_HOST = 'mutagen-test';

/** What test/setup/sshd.ts provided (needs globalSetup: ['test/setup/sshd.ts']). */
export function sshdEnvironment(): SshdTestEnvironment {
  const provided = inject('sshd') as SshdTestEnvironment | undefined;
  if (provided !== undefined) return provided;
  const reason = "this vitest project has no globalSetup 'test/setup/sshd.ts'";
  if (process.env['CI'] === 'true') throw new Error(reason);
  return { available: false, reason };
}

export interface SshTestHomeOptions {
  /** Creates the HOME folder (e.g. useTempDirectories()); default makeTempDirectory (caller removes it). */
  readonly makeDirectory?: (prefix?: string) => Promise<string>;
  /** known_hosts content; default the real keys of both servers. */
  readonly knownHosts?: string;
  /** StrictHostKeyChecking of the `mutagen-test` entry; default yes. */
  readonly strictHostKeyChecking?: 'yes' | 'accept-new' | 'no' | 'ask';
  /** Appended to ~/.ssh/config after the `mutagen-test` entry. */
  readonly extraConfig?: string;
}

export interface SshTestHome {
  readonly home: string;
  /** `${home}/.ssh/config` */
  readonly config: string;
  /** `${home}/.ssh/known_hosts` */
  readonly knownHosts: string;
  /** `${home}/.ssh/id_ed25519`: the client key authorized on both servers. */
  readonly identity: string;
}

/**
 * A temp HOME whose ~/.ssh/config maps `mutagen-test` to the main sshd (HostName 127.0.0.1,
 * Port, User, IdentityFile, IdentitiesOnly yes, IdentityAgent none, UserKnownHostsFile,
 * StrictHostKeyChecking), so config parsing and host key checks run for real. The client key is
 * copied to ~/.ssh/id_ed25519 (0600) and known_hosts holds both servers' keys.
 */
export async function sshTestHome(sshd: AvailableSshd, options: SshTestHomeOptions = {}): Promise<SshTestHome> {
  const home = await (options.makeDirectory ?? makeTempDirectory)('msh-');
  const dotSsh = path.join(home, '.ssh');
  await mkdir(dotSsh, { mode: 0o700 });
  const identity = path.join(dotSsh, 'id_ed25519');
  await copyFile(sshd.clientKey, identity);
  await chmod(identity, 0o600);
  const knownHosts = path.join(dotSsh, 'known_hosts');
  await writeFile(knownHosts, options.knownHosts ?? sshd.knownHosts, { mode: 0o600 });
  const config = path.join(dotSsh, 'config');
  await writeFile(config, [
    `Host ${SSH_TEST_HOST}`,
    '  HostName 127.0.0.1',
    `  Port ${sshd.main.port}`,
    `  User ${sshd.user}`,
    `  IdentityFile ${identity}`,
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    `  UserKnownHostsFile ${knownHosts}`,
    `  StrictHostKeyChecking ${options.strictHostKeyChecking ?? 'yes'}`,
    '',
    options.extraConfig ?? '',
  ].join('\n'), { mode: 0o600 });
  return { home, config, knownHosts, identity };
}

/**
 * describe() with the test sshd, or (no sshd, local runs only: the setup throws under CI) one
 * skipped test whose name gives the reason.
 */
export function describeWithSshd(name: string, body: (sshd: AvailableSshd) => void): void {
  const sshd = sshdEnvironment();
  if (sshd.available) describe(name, () => body(sshd));
  else describe(name, () => { it.skip(`skipped: ${sshd.reason}`, () => undefined); });
}
