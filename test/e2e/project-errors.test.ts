import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { useCliProject } from '../helpers/cli-project.js';
import { useProcesses, type ProcessResult } from '../helpers/processes.js';
import { freePort } from '../helpers/net.js';

// Bad input to `mutagen project …` through the built CLI with the real daemon: each a clear
// message on stderr, exit 1, and nothing half-applied without saying so.


const processes = useProcesses();
const fixture = useCliProject(processes, 'mtpx-');
const mutagen = fixture.mutagen;
let folders = 0;

/** A fresh project folder holding `text` as mutagen.yml (none when undefined). */
async function project(text: string | undefined): Promise<string> {
  const directory = path.join(fixture.base, `p${++folders}`);
  await mkdir(directory);
  if (text !== undefined) await writeFile(path.join(directory, 'mutagen.yml'), text);
  return directory;
}

function fails(result: ProcessResult): string {
  expect(result.code, result.stdout).toBe(1);
  return result.stderr.replaceAll(fixture.base, '<base>');
}

describe('project files that cannot be used', () => {
  it('reports a missing file and leaves no lock behind', async () => {
    const root = await project(undefined);
    expect(fails(await mutagen(root, 'project', 'start'))).toBe(
      'Error: unable to load configuration file: mutagen.yml does not exist\nHint: Create mutagen.yml in the project folder, or pass its path with -f/--project-file.\n',
    );
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
    expect(fails(await mutagen(root, 'project', 'validate', '-f', 'elsewhere/mutagen.yml'))).toContain('Error: unable to load configuration file: mutagen.yml does not exist');
  });

  it('reports a YAML syntax error with its position', async () => {
    const root = await project('sync:\n  web:\n    alpha: "./a\n    beta: ./b\n');
    const stderr = fails(await mutagen(root, 'project', 'start'));
    expect(stderr).toMatch(/^Error: unable to load configuration file: mutagen\.yml:\d+:\d+: invalid YAML: /);
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
  });

  it('reports every schema error at once, one per line, and starts nothing', async () => {
    const root = await project('beforeCreate: make\nsync:\n  web_app:\n    alpha: ./a\n    beta: ./b\n  api:\n    alpha: ./c\n    beta: ./d\n    mode: two-way\n    flushOnCreate: "yes"\n');
    const validate = fails(await mutagen(root, 'project', 'validate'));
    const start = fails(await mutagen(root, 'project', 'start'));
    expect(start).toBe(validate);
    const lines = start.split('\n');
    expect(lines.filter((line) => /^mutagen\.yml:\d+:\d+: /.test(line))).toHaveLength(4);
    expect(start).toContain('mutagen.yml:1:15: beforeCreate: ');
    expect(start).toContain('invalid synchronization session name');
    expect(start).toContain('sync.api.mode: ');
    expect(start).toContain('sync.api.flushOnCreate: ');
    expect(start).toContain('Error: unable to load configuration file: mutagen.yml has 4 problems (listed above)\n');
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
    expect(existsSync(path.join(root, 'a'))).toBe(false);
  });

  it('accepts a valid file in validate and prints its normalised form in config', async () => {
    const root = await project('sync:\n  defaults:\n    mode: one-way-safe\n  web:\n    alpha: ./a\n    beta: ./b\n');
    const validated = await mutagen(root, 'project', 'validate');
    expect(validated).toMatchObject({ code: 0, stdout: 'mutagen.yml is valid (1 synchronization session, 0 forwarding sessions)\n', stderr: '' });
    const config = JSON.parse((await mutagen(root, 'project', 'config', '--json')).stdout) as { sync: { name: string; mode: string; alpha: { path: string } }[] };
    expect(config.sync).toMatchObject([{ name: 'web', mode: 'one-way-safe', alpha: { path: path.join(root, 'a') } }]);
    expect((await mutagen(root, 'project', 'config')).stdout).toContain('\tSynchronization mode: One Way Safe\n');
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
  });
});

describe('failures while starting', () => {
  it('stops at a failing hook, says what was applied and keeps the lock for terminate', async () => {
    const root = await project('beforeCreate:\n  - echo preparing\n  - exit 3\nsync:\n  web:\n    alpha: ./a\n    beta: ./b\n');
    const result = await mutagen(root, 'project', 'start');
    expect(result.stdout).toContain('> echo preparing\npreparing\n> exit 3\n');
    expect(fails(result)).toMatch(/^Applied before stopping: nothing\nNot run: create sync:web\nError: pre-create command failed: exit status 3\nHint: The failing beforeCreate command was: exit 3\. Run "mutagen project start -f mutagen\.yml" again/);
    expect(await readFile(path.join(root, 'mutagen.yml.lock'), 'utf8')).toMatch(/^proj_/);
    expect((await mutagen(root, 'project', 'terminate')).code).toBe(0);
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
  });

  it('stops at a session the daemon cannot create, keeping the ones it made until terminate', async () => {
    const listen = await freePort();
    const root = await project(`sync:\n  good:\n    alpha: ./a\n    beta: ./b\n  bad:\n    alpha: ./c\n    beta: 127.0.0.1:1:/srv\nforward:\n  web:\n    source: tcp:localhost:${listen}\n    destination: tcp:localhost:80\n`);
    const result = await mutagen(root, 'project', 'start');
    const stderr = fails(result);
    expect(stderr).not.toContain('Warning:');
    expect(stderr).toContain('Error: unable to create synchronization session (bad): unable to connect to beta: ');
    expect(result.stdout).toMatch(/✔ create forward:web: created fwrd_[0-9a-zA-Z]{43}\n/);
    expect(result.stdout).toContain('✖ create sync:bad: unable to create synchronization session (bad)');
    expect(stderr).toMatch(/Applied before stopping: create forward:web, create sync:good\n/);
    const listed = await mutagen(root, 'project', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^Forwarding sessions:\n-{80}\nName: web\n/);
    expect(listed.stdout).toContain('Name: good\n');
    expect(listed.stdout).not.toContain('Name: bad\n');
    const terminated = await mutagen(root, 'project', 'terminate');
    expect(terminated.code, terminated.stderr).toBe(0);
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
    // The listener went with its session.
    await expect(new Promise((resolve, reject) => net.connect(listen, '127.0.0.1').once('connect', resolve).once('error', reject)))
      .rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('commands that need a running project', () => {
  it('say "project not running" even without a project file', async () => {
    const root = await project(undefined);
    for (const command of ['list', 'pause', 'resume', 'flush', 'reset', 'terminate']) {
      expect(fails(await mutagen(root, 'project', command))).toMatch(/^Error: project not running\n/);
    }
    expect(fails(await mutagen(root, 'project', 'run', 'x'))).toMatch(/^Error: project not running\n/);
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
  });

  it('run checks its argument and the command name, and passes on the exit status', async () => {
    const root = await project('commands:\n  ok: echo fine\n  bad: exit 5\nsync:\n  web:\n    alpha: ./a\n    beta: ./b\n');
    expect(fails(await mutagen(root, 'project', 'run'))).toBe('Error: missing command name\n');
    expect(fails(await mutagen(root, 'project', 'run', 'a', 'b'))).toBe('Error: invalid number of arguments\n');
    expect((await mutagen(root, 'project', 'start')).code).toBe(0);
    expect(await mutagen(root, 'project', 'run', 'ok')).toMatchObject({ code: 0, stdout: 'fine\n' });
    expect(await mutagen(root, 'project', 'run', 'bad')).toMatchObject({ code: 5, stderr: "Error: command 'bad' failed: exit status 5\n" });
    expect(fails(await mutagen(root, 'project', 'run', 'nope'))).toBe("Error: unable to find command: 'nope'\nHint: Defined commands: ok, bad.\n");
    expect(fails(await mutagen(root, 'project', 'start', 'extra'))).toBe('Error: command does not accept arguments\n');
    expect((await mutagen(root, 'project', 'terminate')).code).toBe(0);
  });
});
