import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useProcesses, type ProcessResult } from '../helpers/processes.js';
import { useTempDirectories } from '../helpers/temp.js';

// Argument handling of the built CLI that needs no engine: every failure here happens before
// the daemon is contacted (autostart is disabled, so contacting it would fail differently).

const tempDirectory = useTempDirectories();
const processes = useProcesses();
let home: string;
let data: string;

beforeEach(async () => {
  home = await tempDirectory();
  data = path.join(home, 'data');
  processes.watchDataDirectory(data);
});

function mutagen(args: readonly string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return processes.cli(args, { cwd: home, env: { HOME: home, MUTAGEN_DATA_DIRECTORY: data, MUTAGEN_DISABLE_AUTOSTART: '1', ...env } });
}

async function fails(args: readonly string[], fragment: string, env?: Record<string, string>): Promise<string> {
  const result = await mutagen(args, env);
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  const line = result.stderr.split('\n')[0] ?? '';
  expect(line.startsWith('Error: ')).toBe(true);
  expect(line).toContain(fragment);
  return line;
}

describe('global conventions', () => {
  it('prints versions', async () => {
    expect(await mutagen(['--version'])).toMatchObject({ code: 0, stdout: 'Mutagen version 0.1.0\n' });
    expect(await mutagen(['version'])).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('prints help for group commands and exits 0', async () => {
    for (const args of [[], ['sync'], ['daemon'], ['help'], ['sync', '--help'], ['sync', 'create', '-h']]) {
      const result = await mutagen(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: mutagen');
    }
    expect((await mutagen(['sync'])).stdout).toContain('create');
    expect((await mutagen(['daemon'])).stdout).not.toMatch(/^ +run /m);
  });

  it('rejects unknown commands and flags', async () => {
    expect(await fails(['foo'], 'unknown command')).toBe('Error: unknown command "foo" for "mutagen"');
    expect(await fails(['sync', 'foo'], 'unknown command')).toBe('Error: unknown command "foo" for "mutagen sync"');
    expect(await fails(['create', 'a', 'b'], 'unknown command')).toBe('Error: unknown command "create" for "mutagen"');
    expect(await fails(['sync', 'list', '--foo'], 'unknown flag')).toBe('Error: unknown flag: --foo');
    await fails(['sync', 'list', '-a'], 'unknown flag');
    await fails(['sync', 'list', '--all'], 'unknown flag');
    await fails(['version', 'extra'], 'command does not accept arguments');
    await fails(['daemon', 'stop', 'extra'], 'command does not accept arguments');
    await fails(['sync', 'create', '--name'], 'flag needs an argument: --name');
  });

  it('checks the data directory variable', async () => {
    await fails(['sync', 'list'], 'provided data directory path is empty', { MUTAGEN_DATA_DIRECTORY: '' });
    await fails(['sync', 'list'], 'provided data directory path is not absolute', { MUTAGEN_DATA_DIRECTORY: 'relative/dir' });
  });

  it('does not start a daemon when autostart is disabled, and says so', async () => {
    await fails(['sync', 'list'], 'unable to connect to daemon: connection timed out (is the daemon running?)');
    expect(existsSync(path.join(data, 'daemon/daemon.lock'))).toBe(false);
  });

  it('daemon stop without a daemon says "is the daemon running"', async () => {
    await fails(['daemon', 'stop'], 'is the daemon running', { MUTAGEN_DISABLE_AUTOSTART: '' });
  });
});

describe('session selection', () => {
  it('requires exactly one mechanism for pause, resume, flush, reset and terminate', async () => {
    for (const command of ['pause', 'resume', 'flush', 'reset', 'terminate']) {
      expect(await fails(['sync', command], 'no selection mechanisms present'))
        .toBe('Error: invalid session selection specification: no selection mechanisms present');
    }
    await fails(['sync', 'pause', '-a', 'web'], 'multiple selection mechanisms present');
    await fails(['sync', 'terminate', '--label-selector', 'team=a', 'web'], 'multiple selection mechanisms present');
    await fails(['sync', 'list', '--label-selector', 'team=a', 'web'], 'multiple selection mechanisms present');
    await fails(['sync', 'flush', '--all', '--label-selector', 'team=a'], 'multiple selection mechanisms present');
    await fails(['sync', 'flush', ''], 'empty specification');
    await fails(['sync', 'list', '--label-selector', 'a in (b'], 'unable to parse label selector');
  });

  it('refuses templates other than {{json .}} before contacting the daemon', async () => {
    await fails(['sync', 'list', '--template', '{{range .}}{{.Name}}{{end}}'], 'only {{json .}} is supported');
    await fails(['sync', 'monitor', '--json', '--template', '{{json .}}'], 'multiple output formats specified');
    await fails(['sync', 'list', '--template-file', 'missing.tmpl'], 'unable to load template file (missing.tmpl)');
  });
});

describe('sync create arguments', () => {
  it('needs exactly two URLs, each valid', async () => {
    await fails(['sync', 'create'], 'invalid number of endpoint URLs provided');
    await fails(['sync', 'create', './a'], 'invalid number of endpoint URLs provided');
    await fails(['sync', 'create', './a', './b', './c'], 'invalid number of endpoint URLs provided');
    expect(await fails(['sync', 'create', ':path', './b'], 'unable to parse alpha URL')).toContain('empty hostname');
    expect(await fails(['sync', 'create', './a', 'user@host:65536:p'], 'unable to parse beta URL')).toContain('invalid port value specified');
    expect(await fails(['sync', 'create', './a', 'volume://data'], 'unable to parse beta URL')).toContain('volume://');
    await fails(['sync', 'create', 'docker://ctr', './b'], 'missing path');
  });

  it('validates the name and labels', async () => {
    expect(await fails(['sync', 'create', '-n', '1abc', './a', './b'], 'invalid session name'))
      .toBe('Error: invalid session name: name does not start with Unicode letter');
    await fails(['sync', 'create', '--name', 'my_app', './a', './b'], "invalid name character at index 2: '_'");
    await fails(['sync', 'create', '--name', 'defaults', './a', './b'], 'invalid session name');
    await fails(['sync', 'create', '-l', 'Bad Key', './a', './b'], 'invalid label key');
    await fails(['sync', 'create', '-l', 'ok=a,b=bad value', './a', './b'], 'invalid label value');
  });

  it('reports bad flag values with their fragments', async () => {
    const create = (...flags: string[]): string[] => ['sync', 'create', ...flags, './a', './b'];
    expect(await fails(create('-m', 'fast'), 'unable to parse synchronization mode'))
      .toBe('Error: unable to parse synchronization mode: unknown synchronization mode specification: fast');
    await fails(create('--sync-mode', 'two-way'), 'unable to parse synchronization mode');
    await fails(create('-H', 'md5'), 'unable to parse hashing algorithm');
    await fails(create('--ignore-vcs', '--no-ignore-vcs'), 'conflicting VCS ignore behavior specified');
    await fails(create('--default-file-mode', '0855'), 'invalid default file mode');
    await fails(create('--default-file-mode', '0'), 'zero-value default file permission mode');
    await fails(create('--default-file-mode', '0755'), 'executability bits detected');
    await fails(create('--default-directory-mode-beta', '01777'), 'invalid default directory mode for beta');
    await fails(create('--max-staging-file-size', '10XB'), 'unable to parse maximum staging file size');
    await fails(create('--default-owner', 'id:abc'), 'invalid ownership specification');
    await fails(create('--default-group-alpha', 'id:01'), 'invalid ownership specification for alpha');
    await fails(create('--watch-polling-interval', 'soon'), 'invalid argument "soon" for "--watch-polling-interval" flag');
    await fails(create('--watch-polling-interval-beta', '4294967296'), 'value out of range');
    await fails(create('--max-entry-count', '-1'), 'invalid argument');
    await fails(create('--probe-mode-alpha', 'maybe'), 'unable to parse probe mode for alpha');
    await fails(create('--scan-mode', 'quick'), 'unable to parse scan mode');
    await fails(create('--stage-mode-beta', 'tmp'), 'unable to parse staging mode for beta');
    await fails(create('--watch-mode', 'inotify'), 'unable to parse watch mode');
    await fails(create('--symlink-mode', 'raw'), 'unable to parse symbolic link mode');
    await fails(create('--ignore-syntax', 'git'), 'unable to parse ignore syntax');
    await fails(create('--permissions-mode', 'strict'), 'unable to parse permissions mode');
    await fails(create('-C', 'gzip'), 'unable to parse compression algorithm');
    await fails(create('-i', 'a"b'), 'bare " in non-quoted field');
  });

  it('accepts execute bits in the default file mode with manual permissions (checked at the same level)', async () => {
    const result = await mutagen(['sync', 'create', '--permissions-mode', 'manual', '--default-file-mode', '0755', './a', './b']);
    expect(result.stderr).toContain('is the daemon running');
  });

  it('loads the global configuration strictly unless told not to', async () => {
    await writeFile(path.join(home, '.mutagen.yml'), 'sync:\n  defaults:\n    mode: fast\n');
    await fails(['sync', 'create', './a', './b'], 'unable to load global configuration');
    const skipped = await mutagen(['sync', 'create', '--no-global-configuration', './a', './b']);
    expect(skipped.stderr).toContain('is the daemon running');
  });

  it('refuses alpha and beta that are the same or nested local paths, before any daemon contact', async () => {
    await mkdir(path.join(home, 'project/sub'), { recursive: true });
    const env = { MUTAGEN_DISABLE_AUTOSTART: '' };
    await fails(['sync', 'create', './project', './project/sub'], 'must not be the same or nested local paths', env);
    await fails(['sync', 'create', `${home}/project/sub`, '~/project'], 'must not be the same or nested local paths', env);
    await fails(['sync', 'create', './project/', './project'], 'must not be the same or nested local paths', env);
    expect(existsSync(path.join(data, 'daemon'))).toBe(false);
  });
});
