import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/base/errors.js';
import { newIdentifier } from '../../../src/model/identifier.js';
import { runHook, runShellCommand, type CommandIo } from '../../../src/runtime/hooks.js';
import { acquireProjectLock, lockFilePath } from '../../../src/runtime/lock.js';
import { useTempDirectories } from '../../helpers/temp.js';

const tempDirectory = useTempDirectories();
const signal = new AbortController().signal;

function capture(): { io: CommandIo; text: () => string } {
  let text = '';
  return { io: { kind: 'pipe', write: (stream, chunk) => { text += stream === 'stderr' ? `[err]${chunk}` : chunk; } }, text: () => text };
}

describe('project lock', () => {
  it('creates mutagen.yml.lock (0600), stores the identifier and is removed on request', async () => {
    const directory = await tempDirectory();
    const file = path.join(directory, 'mutagen.yml');
    expect(lockFilePath(file)).toBe(`${file}.lock`);
    const lock = await acquireProjectLock(file, { signal });
    expect(lock).toMatchObject({ path: `${file}.lock`, projectId: undefined, existed: false });
    expect((await stat(lock.path)).mode & 0o777).toBe(0o600);
    const id = newIdentifier('proj');
    await lock.write(id);
    await lock.release();
    expect(await readFile(lock.path, 'utf8')).toBe(id);
    const again = await acquireProjectLock(file, { signal });
    expect(again).toMatchObject({ projectId: id, existed: true });
    await again.remove();
    await again.release();
    expect(existsSync(lock.path)).toBe(false);
    expect(existsSync(`${lock.path}.lock`)).toBe(false);
  });

  it('makes a second project command wait until the first releases the lock', async () => {
    const directory = await tempDirectory();
    const file = path.join(directory, 'mutagen.yml');
    const first = await acquireProjectLock(file, { signal });
    const order: string[] = [];
    let waited = '';
    const second = acquireProjectLock(file, { signal, onWait: (message) => { waited = message; order.push('waiting'); } }).then((lock) => {
      order.push('second holds');
      return lock;
    });
    await expect.poll(() => waited).toBe('Waiting for another project command on mutagen.yml to finish...');
    const id = newIdentifier('proj');
    await first.write(id);
    order.push('first releases');
    await first.release();
    const lock = await second;
    expect(order).toEqual(['waiting', 'first releases', 'second holds']);
    expect(lock.projectId).toBe(id);
    await lock.release();
  });

  it('stops waiting when the signal aborts', async () => {
    const directory = await tempDirectory();
    const file = path.join(directory, 'mutagen.yml');
    const held = await acquireProjectLock(file, { signal });
    const controller = new AbortController();
    const waiting = acquireProjectLock(file, { signal: controller.signal, onWait: () => controller.abort() });
    await expect(waiting).rejects.toSatisfy(isAbortError);
    await held.release();
  });

  it('rejects content that is not a project identifier and releases the lock', async () => {
    const directory = await tempDirectory();
    const file = path.join(directory, 'mutagen.yml');
    await writeFile(`${file}.lock`, 'sync_not-a-project');
    await expect(acquireProjectLock(file, { signal })).rejects.toThrow(`invalid project identifier found in project lock (${file}.lock)`);
    expect(existsSync(`${file}.lock.lock`)).toBe(false);
    await writeFile(`${file}.lock`, '');
    const lock = await acquireProjectLock(file, { signal });
    expect(lock.projectId).toBeUndefined();
    await lock.release();
  });
});

describe('hooks', () => {
  it('runs commands in order with /bin/sh -c in the folder, echoing each first', async () => {
    const directory = await tempDirectory();
    const { io, text } = capture();
    const echoed: string[] = [];
    await runHook('beforeCreate', ['echo one && pwd', 'echo two >&2', 'test -n "$HOOK_VAR" && echo "$HOOK_VAR"'], {
      cwd: directory, env: { PATH: process.env['PATH'], HOOK_VAR: 'from env' }, io, signal,
      onCommand: (command) => { echoed.push(command); },
    });
    expect(echoed).toEqual(['echo one && pwd', 'echo two >&2', 'test -n "$HOOK_VAR" && echo "$HOOK_VAR"']);
    expect(text()).toBe(`one\n${directory}\n[err]two\nfrom env\n`);
  });

  it('stops at the first failing command with the phase name and exit status', async () => {
    const directory = await tempDirectory();
    const { io, text } = capture();
    const run = runHook('afterTerminate', ['echo ran', 'exit 3', 'echo never'], { cwd: directory, env: { PATH: process.env['PATH'] }, io, signal, onCommand: () => undefined });
    await expect(run).rejects.toMatchObject({ code: 'MUTAGEN_HOOK_FAILED', message: 'post-terminate command failed: exit status 3', hint: 'The failing afterTerminate command was: exit 3.' });
    expect(text()).toBe('ran\n');
  });

  it('kills a running command when the signal aborts', async () => {
    const directory = await tempDirectory();
    const controller = new AbortController();
    let output = '';
    const run = runShellCommand('echo started; exec sleep 600', {
      cwd: directory, env: { PATH: process.env['PATH'] }, signal: controller.signal,
      io: { kind: 'pipe', write: (_stream, chunk) => { output += chunk; controller.abort(); } },
    });
    // Resolves only once the child exited: a sleep that survived the abort would time the test out.
    await expect(run).rejects.toSatisfy(isAbortError);
    expect(output).toBe('started\n');
  });

  it('reports a signal as the way a command ended', async () => {
    const directory = await tempDirectory();
    const { io } = capture();
    const exit = await runShellCommand('kill -9 $$', { cwd: directory, env: { PATH: process.env['PATH'] }, io, signal });
    expect(exit).toEqual({ code: null, signal: 'SIGKILL', description: 'signal: SIGKILL' });
  });
});
