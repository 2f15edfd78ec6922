import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../../src/config/errors.js';
import { MutagenError } from '../../../src/base/errors.js';
import { newIdentifier } from '../../../src/model/identifier.js';
import type { SyncSessionState } from '../../../src/model/session.js';
import { PROJECT_LABEL, SPEC_HASH_LABEL } from '../../../src/planner/observed.js';
import { formatPlan } from '../../../src/planner/plan.js';
import { startProject, type StartOutcome } from '../../../src/runtime/start.js';
import { controlProject } from '../../../src/runtime/verbs.js';
import { useProjectHarness, type ProjectHarness } from './harness.js';
import { freePort } from '../../helpers/net.js';

const harness = useProjectHarness();

function applied(outcome: StartOutcome): Extract<StartOutcome, { kind: 'applied' }> {
  if (outcome.kind !== 'applied') throw new Error(`expected an applied start, got ${outcome.kind}`);
  return outcome;
}

function byName(states: readonly SyncSessionState[]): Map<string, SyncSessionState> {
  return new Map(states.map((state) => [state.session.name, state]));
}

function redactedPlan(outcome: StartOutcome, project: ProjectHarness): string {
  return formatPlan(outcome.plan).replaceAll(project.root, '<root>').replace(/sync_[0-9a-zA-Z]{43}/g, '<id>').replace(/[0-9a-f]{32}/g, '<hash>');
}

const FIRST = `
beforeCreate:
  - mkdir -p a && echo seeded > a/seed.txt
afterCreate:
  - cat b/seed.txt
sync:
  defaults:
    ignore:
      paths: ["*.log"]
  code:
    alpha: ./a
    beta: ./b
    flushOnCreate: true
    mode: two-way-resolved
`;

describe('project start', () => {
  it('runs hooks, creates labelled sessions and flushes them before afterCreate', async () => {
    const project = await harness();
    await project.write(FIRST);
    const outcome = applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    expect(outcome.result.failures).toEqual([]);
    expect(outcome.fresh).toBe(true);
    expect(await readFile(`${project.file}.lock`, 'utf8')).toBe(outcome.plan.projectId);
    expect(project.taskEnds()).toEqual(['done hook beforeCreate', 'done create sync:code', 'done flush sync:code', 'done hook afterCreate']);
    // afterCreate saw the file on beta: the flush waited for the first cycle.
    expect(project.transcript).toEqual(['> mkdir -p a && echo seeded > a/seed.txt', '> cat b/seed.txt', 'seeded']);
    const [state] = await project.sessions();
    expect(state?.session).toMatchObject({
      name: 'code',
      paused: false,
      labels: { [PROJECT_LABEL]: outcome.plan.projectId, [SPEC_HASH_LABEL]: outcome.project.sync[0]?.specHash },
      alpha: { protocol: 'local', path: path.join(project.root, 'a') },
      beta: { protocol: 'local', path: path.join(project.root, 'b') },
      configuration: { mode: 'two-way-resolved', ignore: { paths: ['*.log'] } },
    });
  });

  it('converges a running project to the edited file, changing only what the plan says', async () => {
    const project = await harness();
    await project.write(`
sync:
  code: { alpha: ./code-a, beta: ./code-b }
  mode: { alpha: ./mode-a, beta: ./mode-b }
  url: { alpha: ./url-a, beta: ./url-b }
  gone: { alpha: ./gone-a, beta: ./gone-b }
`);
    const first = applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    expect(first.result.failures).toEqual([]);
    const before = byName(await project.sessions());
    await project.write(`
sync:
  code: { alpha: ./code-a, beta: ./code-b, ignore: { paths: [build/] } }
  mode: { alpha: ./mode-a, beta: ./mode-b, mode: one-way-replica }
  url: { alpha: ./url-a, beta: ./url-beta }
  fresh: { alpha: ./fresh-a, beta: ./fresh-b }
`);
    project.reset();
    const second = applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    expect(second.result.failures).toEqual([]);
    expect(second.fresh).toBe(false);
    expect(second.plan.projectId).toBe(first.plan.projectId);
    expect(redactedPlan(second, project)).toMatchInlineSnapshot(`
      "terminate sync:gone: no longer in mutagen.yml
      update sync:code: ignore.paths (+build/); rescan
      recreate sync:mode: mode changed two-way-safe → one-way-replica; flush first
      recreate sync:url: beta URL changed <root>/url-b → <root>/url-beta; flush first
      create sync:fresh: not created yet"
    `);
    // Sessions of one step run concurrently: their ends come in any order.
    expect(project.taskEnds().sort()).toEqual([
      'done create sync:fresh', 'done recreate sync:mode', 'done recreate sync:url', 'done terminate sync:gone', 'done update sync:code',
    ]);
    const after = byName(await project.sessions());
    expect([...after.keys()].sort()).toEqual(['code', 'fresh', 'mode', 'url']);
    expect(after.get('code')?.session.id).toBe(before.get('code')?.session.id);
    expect(after.get('code')?.session.configuration.ignore.paths).toEqual(['build/']);
    expect(after.get('mode')?.session.id).not.toBe(before.get('mode')?.session.id);
    expect(after.get('mode')?.session.configuration.mode).toBe('one-way-replica');
    expect(after.get('url')?.session.beta.path).toBe(path.join(project.root, 'url-beta'));
    for (const state of after.values()) expect(state.session.labels[PROJECT_LABEL]).toBe(first.plan.projectId);
    project.reset();
    const third = applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    expect(formatPlan(third.plan)).toBe('keep sync:code: up to date\nkeep sync:mode: up to date\nkeep sync:url: up to date\nkeep sync:fresh: up to date');
  });

  it('changes nothing on --dry-run', async () => {
    const project = await harness();
    await project.write(FIRST);
    const dry = await startProject(project.environment(), { paused: false, dryRun: true });
    expect(dry).toMatchObject({ kind: 'dry-run', running: false });
    expect(redactedPlan(dry, project)).toMatchInlineSnapshot(`
      "hook beforeCreate: project start
        > mkdir -p a && echo seeded > a/seed.txt
      create sync:code: not created yet; flush on create
      hook afterCreate: project start
        > cat b/seed.txt"
    `);
    expect(existsSync(`${project.file}.lock`)).toBe(false);
    expect(existsSync(path.join(project.root, 'a'))).toBe(false);
    expect(project.events).toEqual([]);
    expect(await project.sessions()).toEqual([]);
    applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    const lock = await readFile(`${project.file}.lock`, 'utf8');
    await project.write(FIRST.replace('two-way-resolved', 'one-way-safe'));
    const again = await startProject(project.environment(), { paused: false, dryRun: true });
    expect(again).toMatchObject({ kind: 'dry-run', running: true });
    expect(redactedPlan(again, project)).toContain('recreate sync:code: mode changed two-way-resolved → one-way-safe; flush on create');
    expect(await readFile(`${project.file}.lock`, 'utf8')).toBe(lock);
    expect((await project.sessions())[0]?.session.configuration.mode).toBe('two-way-resolved');
  });

  it('stops at a session the daemon cannot create, reports what was applied and keeps the lock', async () => {
    const project = await harness();
    const listen = await freePort();
    await project.write(`
afterCreate:
  - echo never
sync:
  good: { alpha: ./good-a, beta: ./good-b }
  bad: { alpha: ./bad-a, beta: "127.0.0.1:1:/srv/x" }
forward:
  web: { source: "tcp:127.0.0.1:${listen}", destination: "tcp:127.0.0.1:9" }
`);
    const outcome = applied(await startProject(project.environment({}), { paused: false, dryRun: false, concurrency: 1 }));
    expect(outcome.result.failures.map((failure) => [failure.title, failure.error instanceof MutagenError ? failure.error.message : failure.error]))
      .toEqual([['create sync:bad', 'unable to create synchronization session (bad): unable to connect to beta: ssh endpoints are not available in this process']]);
    expect(outcome.result.done.map((task) => task.title)).toEqual(['create forward:web', 'create sync:good']);
    expect(outcome.result.skipped).toEqual([]);
    expect(outcome.result.notRun).toEqual(['hook afterCreate']);
    expect(project.transcript).toEqual([]);
    expect(await readFile(`${project.file}.lock`, 'utf8')).toBe(outcome.plan.projectId);
    expect((await project.sessions()).map((state) => state.session.name)).toEqual(['good']);
    // terminate repairs it: every project session and the lock are gone.
    const terminated = await controlProject(project.environment(), 'terminate');
    expect(terminated.result.failures).toEqual([]);
    expect(await project.sessions()).toEqual([]);
    expect(existsSync(`${project.file}.lock`)).toBe(false);
  });

  it('deletes a lock it created when it fails before reaching the daemon', async () => {
    const project = await harness();
    await project.write('sync:\n  web:\n    alpha: ./a\n    beta: ./b\n    mode: sideways\n');
    await expect(startProject(project.environment(), { paused: false, dryRun: false })).rejects.toBeInstanceOf(ConfigErrors);
    expect(existsSync(`${project.file}.lock`)).toBe(false);
    await project.write('sync:\n  web:\n    alpha: ./a\n    beta: ./b\n');
    const unreachable = project.environment({ connect: () => Promise.reject(new MutagenError('MUTAGEN_DAEMON_UNREACHABLE', 'unable to connect to daemon')) });
    await expect(startProject(unreachable, { paused: false, dryRun: false })).rejects.toThrow('unable to connect to daemon');
    expect(existsSync(`${project.file}.lock`)).toBe(false);
    expect(await project.sessions()).toEqual([]);
  });

  it('replaces a stale project identifier that has no sessions', async () => {
    const project = await harness();
    await project.write('sync:\n  web:\n    alpha: ./a\n    beta: ./b\n');
    const stale = newIdentifier('proj');
    await writeFile(`${project.file}.lock`, stale);
    const outcome = applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    expect(outcome.fresh).toBe(true);
    expect(outcome.plan.projectId).not.toBe(stale);
    expect(await readFile(`${project.file}.lock`, 'utf8')).toBe(outcome.plan.projectId);
    expect((await project.sessions())[0]?.session.labels[PROJECT_LABEL]).toBe(outcome.plan.projectId);
  });

  it('creates sessions paused with --paused and resumes them on the next start', async () => {
    const project = await harness();
    await project.write('sync:\n  web:\n    alpha: ./a\n    beta: ./b\n    flushOnCreate: true\n');
    const paused = applied(await startProject(project.environment(), { paused: true, dryRun: false }));
    expect(formatPlan(paused.plan)).toBe('create sync:web: not created yet; paused (--paused)');
    expect((await project.sessions())[0]?.session.paused).toBe(true);
    const resumed = applied(await startProject(project.environment(), { paused: false, dryRun: false }));
    expect(formatPlan(resumed.plan)).toBe('resume sync:web: paused; project start resumes it');
    expect((await project.sessions())[0]?.session.paused).toBe(false);
  });
});
