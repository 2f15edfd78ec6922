import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { useProcesses, type ProcessResult } from '../helpers/processes.js';
import { useTempDirectories } from '../helpers/temp.js';

// The built CLI with the real daemon and engine, on two local directories.

const tempDirectory = useTempDirectories();
const processes = useProcesses();
let home: string;
let data: string;

beforeEach(async () => {
  home = await tempDirectory();
  data = path.join(home, 'data');
  processes.watchDataDirectory(data);
  await mkdir(path.join(home, 'alpha/src'), { recursive: true });
  await writeFile(path.join(home, 'alpha/src/app.js'), 'console.log(1);\n');
  await writeFile(path.join(home, 'alpha/README.md'), '# hello\n');
});

function mutagen(...args: string[]): Promise<ProcessResult> {
  return processes.cli(args, { cwd: home, env: { HOME: home, MUTAGEN_DATA_DIRECTORY: data } });
}

async function succeeds(...args: string[]): Promise<string> {
  const result = await mutagen(...args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

async function listJson(...args: string[]): Promise<Record<string, unknown>[]> {
  const parsed: unknown = JSON.parse(await succeeds('sync', 'list', '--json', ...args));
  if (!Array.isArray(parsed)) throw new Error('sync list --json did not print an array');
  return parsed as Record<string, unknown>[];
}

describe('sync sessions with the engine', () => {
  it('creates, flushes, pauses, resumes, survives a daemon restart and terminates', async () => {
    const created = await succeeds('sync', 'create', '--name', 'web', '-l', 'team=a', './alpha', './beta');
    expect(created).toMatch(/^Created session sync_[0-9a-zA-Z]{43}\n$/);
    expect(await succeeds('sync', 'flush', 'web')).toBe('');
    expect(await readFile(path.join(home, 'beta/src/app.js'), 'utf8')).toBe('console.log(1);\n');
    const [session] = await listJson('web');
    expect(session).toMatchObject({ name: 'web', labels: { team: 'a' }, paused: false, alpha: { connected: true, files: 2 }, beta: { connected: true } });
    expect(session?.['successfulCycles']).toBeGreaterThanOrEqual(1);

    expect(await succeeds('sync', 'pause', '--label-selector', 'team=a')).toBe('');
    expect(await listJson()).toMatchObject([{ paused: true, status: 'disconnected' }]);
    expect(await mutagen('sync', 'flush', 'web')).toMatchObject({ code: 1, stderr: 'Error: session is paused\n' });
    expect(await succeeds('sync', 'resume', 'web')).toBe('');
    await writeFile(path.join(home, 'beta/NEW.txt'), 'from beta\n');
    expect(await succeeds('sync', 'flush', '--all')).toBe('');
    expect(await readFile(path.join(home, 'alpha/NEW.txt'), 'utf8')).toBe('from beta\n');

    expect(await succeeds('daemon', 'stop')).toBe('');
    await eventually(async () => expect(await listJson()).toMatchObject([{ name: 'web', paused: false, status: 'watching' }]));
    await writeFile(path.join(home, 'alpha/after-restart.txt'), 'x');
    expect(await succeeds('sync', 'flush', 'web')).toBe('');
    expect(existsSync(path.join(home, 'beta/after-restart.txt'))).toBe(true);

    const human = await succeeds('sync', 'list', 'web');
    expect(human).toContain('Name: web\n');
    expect(human).toContain('Status: Watching for changes\n');
    expect(await succeeds('sync', 'terminate', 'web')).toBe('');
    expect(await listJson()).toEqual([]);
    expect(await succeeds('daemon', 'stop')).toBe('');
  });
});
