import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { fakeDaemonCommand, useProcesses, type ProcessResult } from '../helpers/processes.js';
import { useTempDirectories } from '../helpers/temp.js';

// The built CLI against a daemon process that runs the in-memory SyncService double
// (test/helpers/daemon-process.ts): output formats, selection and error paths through the
// real socket, without the engine.

const tempDirectory = useTempDirectories();
const processes = useProcesses();
let home: string;
let data: string;

beforeEach(async () => {
  home = await tempDirectory();
  data = path.join(home, 'data');
  const daemon = processes.spawn(fakeDaemonCommand(data));
  await eventually(() => expect(daemon.output().stdout).toContain('ready'), { timeoutMs: 60_000 });
});

function mutagen(...args: string[]): Promise<ProcessResult> {
  return processes.cli(args, { cwd: home, env: { HOME: home, MUTAGEN_DATA_DIRECTORY: data, MUTAGEN_DISABLE_AUTOSTART: '1' } });
}

async function succeeds(...args: string[]): Promise<string> {
  const result = await mutagen(...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

async function create(...args: string[]): Promise<string> {
  const stdout = await succeeds('sync', 'create', ...args);
  const id = /^Created session (sync_[0-9a-zA-Z]{43})\n$/.exec(stdout)?.[1];
  expect(id, stdout).toBeDefined();
  return id ?? '';
}

function redact(text: string, ids: readonly string[]): string {
  let out = text.replaceAll(home, '<home>');
  ids.forEach((id, i) => { out = out.replaceAll(id, `<id${i}>`); });
  return out;
}

describe('sync list', () => {
  it('prints the empty list', async () => {
    expect(await succeeds('sync', 'list')).toBe(`${'-'.repeat(80)}\nNo synchronization sessions found\n${'-'.repeat(80)}\n`);
    expect(await succeeds('sync', 'list', '--json')).toBe('[]\n');
    expect(await succeeds('sync', 'list', '--template', '{{ json . }}')).toBe('[]\n');
  });

  it('prints the long form with configuration, labels and CSV-split flags', async () => {
    const id = await create('--paused', '-n', 'web', '-l', 'team=a,tier', '-l', 'z=1', '-m', 'two-way-resolved',
      '-i', 'node_modules,"a,b"', '-i', '*.log', '--ignore-vcs', '--max-staging-file-size', '5MB', '--max-entry-count', '5000',
      '--watch-mode-beta', 'no-watch', '--default-file-mode', '0644', '--default-owner-alpha', 'id:0', '-C', 'none', './alpha', 'user@host:2222:~/beta');
    expect(redact(await succeeds('sync', 'list', '-l'), [id])).toMatchInlineSnapshot(`
      "--------------------------------------------------------------------------------
      Name: web
      Identifier: <id0>
      Labels:
      	team: a
      	tier: <empty>
      	z: 1
      Configuration:
      	Synchronization mode: Two Way Resolved
      	Hashing algorithm: Default (SHA-1)
      	Maximum allowed entry count: 5000
      	Maximum staging file size: 5000000 (5.0 MB)
      	Symbolic link mode: Default (Portable)
      	Ignore syntax: Default (Mutagen)
      	Ignores:
      		node_modules
      		a,b
      		*.log
      	Ignore VCS mode: Ignore
      	Permissions mode: Default (Portable)
      Alpha:
      	URL: <home>/alpha
      	Configuration:
      		Watch mode: Default (Portable)
      		Watch polling interval: Default (10 seconds)
      		Probe mode: Default (Probe)
      		Scan mode: Default (Accelerated)
      		Stage mode: Default (Mutagen Data Directory)
      		File mode: 0644
      		Directory mode: Default (0700)
      		Default file/directory owner: id:0
      		Default file/directory group: Default
      	Connected: No
      Beta:
      	URL: user@host:2222:~/beta
      	Configuration:
      		Watch mode: No Watch
      		Probe mode: Default (Probe)
      		Scan mode: Default (Accelerated)
      		Stage mode: Default (Mutagen Data Directory)
      		File mode: 0644
      		Directory mode: Default (0700)
      		Default file/directory owner: Default
      		Default file/directory group: Default
      		Compression: None
      	Connected: No
      Status: [Paused]
      --------------------------------------------------------------------------------
      "
    `);
  });

  it('lists conflicts, problems and the last error, short and long, with hostile text neutralised', async () => {
    const id = await create('-n', 'broken', '-l', 'fixture=conflicts', './alpha', './beta');
    expect(redact(await succeeds('sync', 'list'), [id])).toMatchInlineSnapshot(`
      "--------------------------------------------------------------------------------
      Name: broken
      Identifier: <id0>
      Alpha:
      	URL: <home>/alpha
      	Connected: Yes
      	Synchronizable contents:
      		3 directories
      		10 files (48 kB)
      		1 symbolic link
      	Scan problems: 3
      Beta:
      	URL: <home>/beta
      	Connected: Yes
      	Synchronizable contents:
      		3 directories
      		10 files (48 kB)
      		1 symbolic link
      Conflicts: 5
      Last error: unable to connect to beta: connection refused
      Status: Watching for changes
      --------------------------------------------------------------------------------
      "
    `);
    const long = await succeeds('sync', 'list', '--long', 'broken');
    expect(long.slice(long.indexOf('\tScan problems:'), long.indexOf('Beta:'))).toMatchInlineSnapshot(`
      "	Scan problems:
      		<root>: root problem
      		bad\\rname: unable to read
      		...+1 more...
      "
    `);
    expect(long.slice(long.indexOf('Conflicts:'), long.indexOf('Last error:'))).toMatchInlineSnapshot(`
      "Conflicts:
      	(alpha) <root> (<non-existent> -> Directory)
      	(beta)  <root> (<non-existent> -> File (ab12))

      	(alpha) src/app.js (File (0011) -> Executable File (0022))
      	(beta)  src/app.js (File (0011) -> Symbolic Link (x^[[31m))

      	...+3 more conflicts...
      "
    `);
  });

  it('shows staging progress', async () => {
    await create('-l', 'fixture=staging', './alpha', './beta');
    const list = await succeeds('sync', 'list');
    expect(list).toContain('Status: Staging files on beta\nStaging progress: 3/10 - 12 MB - 30%\nCurrent file: dir/big.bin (1.5 MB/4.2 MB)\n');
  });

  it('prints JSON with --json, --template and --template-file, and selects by label', async () => {
    const first = await create('-n', 'one', '-l', 'team=a', './a1', './b1');
    const second = await create('--paused', '-l', 'team=b', './a2', './b2');
    const all: unknown = JSON.parse(await succeeds('sync', 'list', '--json'));
    expect(all).toMatchObject([
      { identifier: first, name: 'one', labels: { team: 'a' }, paused: false, status: 'watching', successfulCycles: 1 },
      { identifier: second, labels: { team: 'b' }, paused: true, status: 'disconnected' },
    ]);
    expect((all as Record<string, unknown>[])[1]).not.toHaveProperty('successfulCycles');
    const selected = await succeeds('sync', 'list', '--label-selector', 'team!=a', '--template', '{{json .}}');
    expect(JSON.parse(selected)).toMatchObject([{ identifier: second }]);
    await writeFile(path.join(home, 'format.tmpl'), '{{json .}}');
    const fromFile = await succeeds('sync', 'list', '--template-file', 'format.tmpl', 'one');
    expect(fromFile.endsWith('\n')).toBe(false);
    expect(JSON.parse(fromFile)).toMatchObject([{ identifier: first }]);
    expect(await succeeds('sync', 'list', '--label-selector', 'team=none', '--json')).toBe('[]\n');
  });
});

describe('sync create, control and monitor', () => {
  it('warns about a name another session already uses', async () => {
    const first = await create('-n', 'web', '--paused', './a1', './b1');
    const result = await mutagen('sync', 'create', '-n', 'web', '--paused', './a2', './b2');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Created session sync_/);
    expect(result.stderr).toBe(`Warning: another synchronization session is already named "web" (${first}); `
      + 'names are not unique, so selecting by this name will address all of them\n');
  });

  it('prints daemon-side failures with their hint and creates nothing', async () => {
    const result = await mutagen('sync', 'create', '-l', 'fail=connection-refused', './a', './b');
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'Error: unable to connect to beta: connection-refused\nHint: Check the beta URL.\n' });
    expect(await succeeds('sync', 'list', '--json')).toBe('[]\n');
  });

  it('pauses, flushes, resumes and terminates by name, id, label or --all', async () => {
    const web = await create('-n', 'web', './a1', './b1');
    await create('-n', 'api', '-l', 'team=a', './a2', './b2');
    expect(await succeeds('sync', 'pause', 'web')).toBe('');
    const paused = await mutagen('sync', 'flush', web);
    expect(paused).toMatchObject({ code: 1, stderr: 'Error: session is paused\n' });
    expect(await succeeds('sync', 'resume', '--label-selector', 'team=a')).toBe('');
    expect(await succeeds('sync', 'resume', '--all')).toBe('');
    expect(await succeeds('sync', 'flush', '--skip-wait', 'web', 'api')).toBe('');
    expect(await succeeds('sync', 'reset', '-a')).toBe('');
    const missing = await mutagen('sync', 'terminate', 'web', 'nope');
    expect(missing.stderr).toBe('Error: unable to locate requested sessions: specification "nope" did not match any sessions\n');
    expect(await succeeds('sync', 'terminate', '--label-selector', 'team=nobody')).toBe('');
    expect(await succeeds('sync', 'terminate', 'web', web)).toBe('');
    expect(JSON.parse(await succeeds('sync', 'list', '--json'))).toMatchObject([{ name: 'api' }]);
  });

  it('monitors the newest matching session until interrupted', async () => {
    const none = await mutagen('sync', 'monitor');
    expect(none).toMatchObject({ code: 1, stderr: 'Error: no matching sessions exist\n' });
    await create('-n', 'old', './a1', './b1');
    const id = await create('-n', 'new', '--paused', './a2', './b2');
    const monitor = processes.spawn([process.execPath, 'dist/cli.js', 'sync', 'monitor'], {
      env: { HOME: home, MUTAGEN_DATA_DIRECTORY: data, MUTAGEN_DISABLE_AUTOSTART: '1' },
    });
    await eventually(() => expect(monitor.output().stdout).toContain('[Paused]\n'));
    expect(monitor.output().stdout).toBe(`Name: new\nIdentifier: ${id}\nAlpha:\n\tURL: ${home}/a2\nBeta:\n\tURL: ${home}/b2\n[Paused]\n`);
    expect(await succeeds('sync', 'resume', 'new')).toBe('');
    await eventually(() => expect(monitor.output().stdout).toContain('[Paused]\nWatching for changes\n'));
    await succeeds('sync', 'terminate', 'new');
    const ended = await monitor.exited;
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('invalid list response');
  });

  it('exits 130 when a long-running command is interrupted', async () => {
    await create('-n', 'web', './a', './b');
    const monitor = processes.spawn([process.execPath, 'dist/cli.js', 'sync', 'monitor', '--json'], {
      env: { HOME: home, MUTAGEN_DATA_DIRECTORY: data, MUTAGEN_DISABLE_AUTOSTART: '1' },
    });
    await eventually(() => expect(monitor.output().stdout).toContain('"name":"web"'));
    monitor.child.kill('SIGINT');
    expect(await monitor.exited).toMatchObject({ code: 130, stderr: '' });
  });
});
