import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appendKnownHost, checkHostKey, entryMatches, fingerprint, knownHostsName, knownKeyTypes, parseKnownHosts, readKnownHosts,
} from '../../../src/agent/transport/ssh/known-hosts.js';
import { commandLine, quoteArgument } from '../../../src/agent/transport/ssh/process.js';

const execFileAsync = promisify(execFile);
const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

async function tempDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mkh-'));
  directories.push(directory);
  return directory;
}

/** A real ed25519 public key line from ssh-keygen: `ssh-ed25519 AAAA…`. */
async function publicKey(directory: string, name: string): Promise<{ line: string; blob: Buffer; file: string }> {
  const file = path.join(directory, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', file]);
  const line = (await readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  return { line, blob: Buffer.from(line.split(' ')[1] ?? '', 'base64'), file: `${file}.pub` };
}

function hashed(name: string, salt = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names non-22 ports as [host]:port', () => {
    expect(knownHostsName('example.org', 22)).toBe('example.org');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('matches comma lists, wildcards, negation and hashed names (case-insensitively)', () => {
    expect(entryMatches('a.example,b.example', 'b.example')).toBe(true);
    expect(entryMatches('*.example,!bad.example', 'good.example')).toBe(true);
    expect(entryMatches('*.example,!bad.example', 'bad.example')).toBe(false);
    expect(entryMatches('host?', 'host1')).toBe(true);
    expect(entryMatches('host?', 'host')).toBe(false);
    expect(entryMatches('Example.ORG', 'example.org')).toBe(true);
    expect(entryMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222')).toBe(true);
    expect(entryMatches('[127.0.0.1]:2222', '127.0.0.1')).toBe(false);
    expect(entryMatches(hashed('[10.0.0.1]:2200'), '[10.0.0.1]:2200')).toBe(true);
    expect(entryMatches(hashed('[10.0.0.1]:2200'), '10.0.0.1')).toBe(false);
    expect(entryMatches('|1|garbage', 'x')).toBe(false);
  });

  it('reads entries hashed by ssh-keygen -H', async () => {
    const directory = await tempDirectory();
    const key = await publicKey(directory, 'k');
    const file = path.join(directory, 'known_hosts');
    await writeFile(file, `[127.0.0.1]:2222 ${key.line}\nplain.example ${key.line}\n`);
    await execFileAsync('ssh-keygen', ['-H', '-f', file]);
    const entries = await readKnownHosts([file, path.join(directory, 'missing')]);
    expect(entries.every((entry) => entry.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, '[127.0.0.1]:2222', 'ssh-ed25519', key.blob).kind).toBe('match');
    expect(checkHostKey(entries, 'plain.example', 'ssh-ed25519', key.blob).kind).toBe('match');
    expect(checkHostKey(entries, '127.0.0.1', 'ssh-ed25519', key.blob).kind).toBe('unknown');
  });

  it('tells match, mismatch, revoked and unknown apart; skips cert-authority lines and junk', async () => {
    const directory = await tempDirectory();
    const [good, other, revoked] = await Promise.all(['a', 'b', 'c'].map((name) => publicKey(directory, name)));
    if (good === undefined || other === undefined || revoked === undefined) throw new Error('keys');
    const text = [
      '# comment',
      '',
      `@cert-authority *.example ${other.line}`,
      `@revoked * ${revoked.line}`,
      'garbage line',
      `host.example,alias ${good.line} comment here`,
      `rsa.example ssh-rsa AAAAB3NzaC1yc2E=`,
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    expect(entries.map((entry) => [entry.line, entry.marker])).toEqual([[3, 'cert-authority'], [4, 'revoked'], [6, undefined], [7, undefined]]);
    expect(checkHostKey(entries, 'alias', 'ssh-ed25519', good.blob)).toMatchObject({ kind: 'match', entry: { line: 6 } });
    expect(checkHostKey(entries, 'host.example', 'ssh-ed25519', other.blob)).toMatchObject({ kind: 'mismatch', entry: { line: 6 } });
    expect(checkHostKey(entries, 'anything', 'ssh-ed25519', revoked.blob)).toMatchObject({ kind: 'revoked', entry: { line: 4 } });
    expect(checkHostKey(entries, 'x.example', 'ssh-ed25519', other.blob)).toEqual({ kind: 'unknown', otherTypes: [] });
    expect(checkHostKey(entries, 'rsa.example', 'ssh-ed25519', good.blob)).toEqual({ kind: 'unknown', otherTypes: ['ssh-rsa'] });
    expect(knownKeyTypes(entries, 'rsa.example')).toEqual(['ssh-rsa']);
  });

  it('prints fingerprints exactly like ssh-keygen -l', async () => {
    const directory = await tempDirectory();
    const key = await publicKey(directory, 'k');
    const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', key.file]);
    expect(stdout.split(' ')[1]).toBe(fingerprint(key.blob));
  });

  it('appends entries (hashed or not), creating ~/.ssh 0700 and the file 0600', async () => {
    const directory = await tempDirectory();
    const key = await publicKey(directory, 'k');
    const file = path.join(directory, 'home/.ssh/known_hosts');
    await appendKnownHost(file, { name: '[127.0.0.1]:2222', keyType: 'ssh-ed25519', key: key.blob, hashed: false });
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFile(file, `${await readFile(file, 'utf8')}# no newline at the end`);
    await appendKnownHost(file, { name: 'hashed.example', keyType: 'ssh-ed25519', key: key.blob, hashed: true });
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toBe(`[127.0.0.1]:2222 ${key.line}`);
    expect(text.split('\n')[1]).toBe('# no newline at the end');
    const entries = parseKnownHosts(text, file);
    expect(checkHostKey(entries, 'hashed.example', 'ssh-ed25519', key.blob).kind).toBe('match');
    expect(entries[1]?.hosts.startsWith('|1|')).toBe(true);
    // OpenSSH reads what we wrote.
    const { stdout } = await execFileAsync('ssh-keygen', ['-F', 'hashed.example', '-f', file]);
    expect(stdout).toContain('Host hashed.example found');
  });
});

describe('remote command quoting', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    expect(quoteArgument('node')).toBe('node');
    expect(quoteArgument('/a/b-c_d.mjs')).toBe('/a/b-c_d.mjs');
    expect(quoteArgument('--log-level=info')).toBe('--log-level=info');
    expect(quoteArgument('')).toBe("''");
    expect(quoteArgument('a b')).toBe("'a b'");
    expect(quoteArgument("it's")).toBe("'it'\\''s'");
    expect(quoteArgument('$HOME')).toBe("'$HOME'");
    expect(commandLine(['sh', '-c', 'echo "$x"'])).toBe(`sh -c 'echo "$x"'`);
  });
});
