import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../../src/config/errors.js';
import { startProject } from '../../../src/runtime/start.js';
import { controlProject, listProject, runProjectCommand } from '../../../src/runtime/verbs.js';
import { useProjectHarness, type ProjectHarness } from './harness.js';

const harness = useProjectHarness();

const PROJECT = `
beforePause: [echo before-pause]
afterPause: [echo after-pause]
beforeResume: [echo before-resume]
afterResume: [echo after-resume]
beforeTerminate: [echo before-terminate]
afterTerminate: [echo after-terminate]
commands:
  hello: echo "hello from $(basename "$PWD")"
  fails: exit 7
sync:
  one: { alpha: ./one-a, beta: ./one-b }
  two: { alpha: ./two-a, beta: ./two-b }
`;

async function started(project: ProjectHarness, text = PROJECT): Promise<string> {
  await project.write(text);
  const outcome = await startProject(project.environment(), { paused: false, dryRun: false });
  if (outcome.kind !== 'applied' || outcome.result.failures.length > 0) throw new Error('start failed');
  project.reset();
  return outcome.plan.projectId;
}

describe('project commands on a project that is not running', () => {
  it('each says "project not running" before reading the file and leaves no lock file', async () => {
    const project = await harness();
    const environment = project.environment();
    const attempts = [
      ...(['pause', 'resume', 'flush', 'reset', 'terminate'] as const).map((verb) => () => controlProject(environment, verb)),
      () => listProject(environment),
      () => runProjectCommand(environment, 'hello'),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toThrow('project not running');
    expect(existsSync(`${project.file}.lock`)).toBe(false);
    expect(existsSync(project.file)).toBe(false);
  });
});

describe('project verbs', () => {
  it('pause and resume run their hooks around the daemon calls', async () => {
    const project = await harness();
    await started(project);
    const paused = await controlProject(project.environment(), 'pause');
    expect(paused.result.failures).toEqual([]);
    expect(project.taskEnds()).toEqual([
      'done hook beforePause', 'done pause forwarding sessions', 'done pause synchronization sessions', 'done hook afterPause',
    ]);
    expect(project.transcript).toEqual(['> echo before-pause', 'before-pause', '> echo after-pause', 'after-pause']);
    expect((await project.sessions()).map((state) => state.session.paused)).toEqual([true, true]);
    project.reset();
    await controlProject(project.environment(), 'resume');
    expect(project.transcript).toEqual(['> echo before-resume', 'before-resume', '> echo after-resume', 'after-resume']);
    expect((await project.sessions()).map((state) => state.session.paused)).toEqual([false, false]);
  });

  it('flush, reset and list address only this project\'s sessions', async () => {
    const project = await harness();
    const id = await started(project);
    const flushed = await controlProject(project.environment(), 'flush');
    expect(flushed.result.done).toEqual([{ title: 'flush synchronization sessions', note: '2 sessions' }]);
    const reset = await controlProject(project.environment(), 'reset');
    expect(reset.result.done).toEqual([{ title: 'reset synchronization sessions', note: '2 sessions' }]);
    const listed = await listProject(project.environment());
    expect(listed.observed.projectId).toBe(id);
    expect(listed.sync.map((state) => state.session.name).sort()).toEqual(['one', 'two']);
    expect(listed.forward).toEqual([]);
  });

  it('run executes a named command in the project folder and reports its exit status', async () => {
    const project = await harness();
    await started(project);
    expect(await runProjectCommand(project.environment(), 'hello')).toMatchObject({ code: 0 });
    expect(project.transcript).toEqual(['hello from project']);
    expect(await runProjectCommand(project.environment(), 'fails')).toMatchObject({ code: 7, description: 'exit status 7' });
    await expect(runProjectCommand(project.environment(), 'missing')).rejects.toMatchObject({
      message: "unable to find command: 'missing'", hint: 'Defined commands: hello, fails.',
    });
  });

  it('terminate keeps the lock when a hook fails or the file became invalid, and removes it once everything succeeded', async () => {
    const project = await harness();
    const id = await started(project);
    await project.write(PROJECT.replace('[echo before-terminate]', '[exit 4]'));
    const failed = await controlProject(project.environment(), 'terminate');
    expect(failed.result.failures.map((failure) => (failure.error as Error).message)).toEqual(['pre-terminate command failed: exit status 4']);
    expect(failed.result.notRun).toEqual(['terminate forwarding sessions', 'terminate synchronization sessions', 'hook afterTerminate']);
    expect(await readFile(`${project.file}.lock`, 'utf8')).toBe(id);
    expect(await project.sessions()).toHaveLength(2);
    await project.write(`${PROJECT}\n  three: { alpha: ./x }\n`);
    await expect(controlProject(project.environment(), 'terminate')).rejects.toBeInstanceOf(ConfigErrors);
    expect(await readFile(`${project.file}.lock`, 'utf8')).toBe(id);
    await project.write(PROJECT);
    project.reset();
    const terminated = await controlProject(project.environment(), 'terminate');
    expect(terminated.result.failures).toEqual([]);
    expect(project.transcript).toEqual(['> echo before-terminate', 'before-terminate', '> echo after-terminate', 'after-terminate']);
    expect(await project.sessions()).toEqual([]);
    expect(existsSync(`${project.file}.lock`)).toBe(false);
  });
});
