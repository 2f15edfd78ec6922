import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DesiredProject } from '../../../src/config/project.js';
import type { SyncConfiguration } from '../../../src/model/configuration.js';
import type { SyncSpec } from '../../../src/model/session.js';
import type { ObservedSession } from '../../../src/planner/observed.js';
import { planProject } from '../../../src/planner/plan-project.js';
import type { Intent } from '../../../src/planner/plan-project.js';
import { formatPlan, summarizePlan } from '../../../src/planner/plan.js';
import type { Action, Plan } from '../../../src/planner/plan.js';
import { PROJECT_ID, desiredForward, desiredSync, observed, project } from './fixtures.js';

function plan(desired: DesiredProject, sessions: ObservedSession[] = [], intent: Intent = { paused: false }): Plan {
  return planProject(desired, { projectId: PROJECT_ID, sessions }, intent);
}

function text(desired: DesiredProject, sessions: ObservedSession[] = [], intent: Intent = { paused: false }): string {
  return formatPlan(plan(desired, sessions, intent));
}

const configured = (change: Partial<SyncConfiguration>) => (spec: SyncSpec): SyncSpec => ({ ...spec, configuration: { ...spec.configuration, ...change } });

const hooks = {
  beforeCreate: ['docker compose up -d'], afterCreate: ['echo ready'],
  beforePause: ['echo pausing'], afterPause: ['echo paused'],
  beforeResume: ['echo resuming'], afterResume: ['echo resumed'],
};

describe('planProject: a fresh start', () => {
  it('runs beforeCreate, creates forwards then syncs in file order, flushes, runs afterCreate', () => {
    const desired = project({ sync: [desiredSync('code', undefined, true), desiredSync('assets')], forward: [desiredForward('web')], hooks });
    expect(text(desired)).toMatchInlineSnapshot(`
      "hook beforeCreate: project start
        > docker compose up -d
      create forward:web: not created yet
      create sync:code: not created yet; flush on create
      create sync:assets: not created yet
      hook afterCreate: project start
        > echo ready"
    `);
  });

  it('creates paused sessions without flushing under --paused', () => {
    const desired = project({ sync: [desiredSync('code', undefined, true)], hooks });
    const result = plan(desired, [], { paused: true });
    expect(formatPlan(result)).toMatchInlineSnapshot(`
      "hook beforeCreate: project start
        > docker compose up -d
      create sync:code: not created yet; paused (--paused)
      hook afterCreate: project start
        > echo ready"
    `);
    expect(result.actions[1]).toMatchObject({ kind: 'create', paused: true, flushOnCreate: false });
  });

  it('stamps the project and spec-hash labels on every spec it sends', () => {
    const code = desiredSync('code');
    const [action] = plan(project({ sync: [code] })).actions;
    expect(action?.kind === 'create' ? action.spec.labels : undefined).toEqual({
      'io.mutagen.project': PROJECT_ID,
      'io.mutagen.spec-hash': code.specHash,
    });
  });

  it('runs the create hooks of a project without sessions, and says when there is nothing to do', () => {
    expect(text(project({ hooks: { beforeCreate: ['make up'] } }))).toMatchInlineSnapshot(`
      "hook beforeCreate: project start
        > make up"
    `);
    expect(text(project({}))).toMatchInlineSnapshot(`"nothing to do"`);
  });
});

describe('planProject: sessions already running', () => {
  it('keeps sessions whose spec hash matches, without hooks', () => {
    const code = desiredSync('code');
    const web = desiredForward('web');
    expect(text(project({ sync: [code], forward: [web], hooks }), [observed(code, { id: 'sync_1' }), observed(web, { id: 'fwrd_1' })]))
      .toMatchInlineSnapshot(`
        "keep forward:web: up to date
        keep sync:code: up to date"
      `);
  });

  it('resumes paused sessions on start, between the resume hooks', () => {
    const code = desiredSync('code');
    const web = desiredForward('web');
    expect(text(project({ sync: [code], forward: [web], hooks }), [observed(code, { id: 'sync_1', paused: true }), observed(web, { id: 'fwrd_1' })]))
      .toMatchInlineSnapshot(`
        "hook beforeResume: sessions to resume
          > echo resuming
        keep forward:web: up to date
        resume sync:code: paused; project start resumes it
        hook afterResume: sessions resumed
          > echo resumed"
      `);
  });

  it('pauses running sessions under --paused, between the pause hooks, and keeps paused ones', () => {
    const code = desiredSync('code');
    const docs = desiredSync('docs');
    const sessions = [observed(code, { id: 'sync_1' }), observed(docs, { id: 'sync_2', paused: true })];
    expect(text(project({ sync: [code, docs], hooks }), sessions, { paused: true })).toMatchInlineSnapshot(`
      "hook beforePause: sessions to pause
        > echo pausing
      pause sync:code: project start --paused
      keep sync:docs: up to date (paused)
      hook afterPause: sessions paused
        > echo paused"
    `);
  });

  it('terminates sessions no longer in the file, and duplicates, before anything else', () => {
    const code = desiredSync('code');
    const sessions = [
      observed(desiredSync('old'), { id: 'sync_9' }),
      observed(code, { id: 'sync_2', specHash: 'ffffffffffffffffffffffffffffffff' }),
      observed(code, { id: 'sync_1' }),
      observed(desiredForward('gone'), { id: 'fwrd_9' }),
    ];
    expect(text(project({ sync: [code, desiredSync('new')], hooks }), sessions)).toMatchInlineSnapshot(`
      "hook beforeCreate: 1 session to create
        > docker compose up -d
      terminate forward:gone: no longer in mutagen.yml
      terminate sync:code: duplicate of sync_1
      terminate sync:old: no longer in mutagen.yml
      keep sync:code: up to date
      create sync:new: not created yet
      hook afterCreate: 1 session to create
        > echo ready"
    `);
  });

  it('recreates sessions without a spec-hash label (made by upstream Mutagen or another tool)', () => {
    const code = desiredSync('code');
    const result = plan(project({ sync: [code] }), [observed(code, { id: 'sync_1', specHash: null })]);
    expect(formatPlan(result)).toMatchInlineSnapshot(`"recreate sync:code: no spec-hash label (created by another tool or by upstream Mutagen); flush first"`);
    expect(result.actions[0]).toMatchObject({ kind: 'recreate', sessionId: 'sync_1', flushFirst: true, paused: false });
  });

  it('updates only the label when the hash is stale but the spec is the same', () => {
    const code = desiredSync('code');
    const result = plan(project({ sync: [code] }), [observed(code, { id: 'sync_1', specHash: '0123456789abcdef0123456789abcdef' })]);
    expect(formatPlan(result)).toMatchInlineSnapshot(`"update sync:code: spec-hash label out of date (0123456789abcdef0123456789abcdef → 55efb531a72071a3edf550f02248f607)"`);
    expect(result.actions[0]).toMatchObject({ kind: 'update', changed: ['labels'] });
  });

  it('passes the project warnings through and keeps input untouched', () => {
    const desired = project({ sync: [desiredSync('code')], warnings: ['both mutagen.yml and mutagen.yaml exist'] });
    const before = JSON.stringify(desired);
    expect(plan(desired).warnings).toEqual(['both mutagen.yml and mutagen.yaml exist']);
    expect(formatPlan(plan(desired))).toBe(formatPlan(plan(desired)));
    expect(JSON.stringify(desired)).toBe(before);
  });
});

type Change = (spec: SyncSpec) => SyncSpec;

/** [what changed, old spec change, new spec change, expected plan text]. */
const IN_PLACE: [string, Change, Change, string][] = [
  ['ignore paths', configured({ ignore: { paths: ['a', 'b'] } }), configured({ ignore: { paths: ['b', 'c'] } }), 'update sync:code: ignore.paths (+c, -a); rescan'],
  ['ignore order', configured({ ignore: { paths: ['a', '!a/b'] } }), configured({ ignore: { paths: ['!a/b', 'a'] } }), 'update sync:code: ignore.paths reordered; rescan'],
  ['ignore syntax', configured({}), configured({ ignore: { syntax: 'docker' } }), 'update sync:code: ignore.syntax unset → docker; rescan'],
  ['VCS ignores', configured({ ignore: { vcs: false } }), configured({ ignore: { vcs: true } }), 'update sync:code: ignore.vcs false → true; rescan'],
  ['watch', configured({ watch: { mode: 'portable' } }), configured({ watch: { mode: 'force-poll', pollingInterval: 2 } }), 'update sync:code: watch.mode portable → force-poll; watch.pollingInterval unset → 2'],
  ['permission defaults', configured({}), configured({ permissions: { defaultFileMode: 0o644, defaultOwner: 'id:33' } }), 'update sync:code: permissions.defaultFileMode unset → 0644; permissions.defaultOwner unset → id:33'],
  ['staging', configured({ stageMode: 'mutagen' }), configured({ stageMode: 'neighboring', maxStagingFileSize: 5_000_000 }), 'update sync:code: maxStagingFileSize unset → 5000000; stageMode mutagen → neighboring'],
  ['probe and scan', configured({}), configured({ probeMode: 'assume', scanMode: 'full', maxEntryCount: 1000 }), 'update sync:code: maxEntryCount unset → 1000; probeMode unset → assume; scanMode unset → full'],
  ['compression', configured({}), configured({ compression: { algorithm: 'none' } }), 'update sync:code: compression.algorithm unset → none'],
  [
    'endpoint overrides',
    (spec) => spec,
    (spec) => ({ ...spec, configurationBeta: { ...spec.configurationBeta, permissions: { defaultGroup: 'www-data' } } }),
    'update sync:code: configurationBeta.permissions.defaultGroup unset → www-data',
  ],
  ['the default mode written out', configured({}), configured({ mode: 'two-way-safe' }), 'update sync:code: mode unset → two-way-safe'],
];

const RECREATE: [string, Change, Change, string][] = [
  ['alpha URL', (spec) => spec, (spec) => ({ ...spec, alpha: { ...spec.alpha, path: '/home/u/other' } }), 'recreate sync:code: alpha URL changed /home/u/proj/code → /home/u/other; flush first'],
  [
    'beta container',
    (spec) => ({ ...spec, beta: { kind: 'sync', protocol: 'docker', host: 'a', path: '/x', environment: {} } }),
    (spec) => ({ ...spec, beta: { kind: 'sync', protocol: 'docker', host: 'b', path: '/x', environment: {} } }),
    'recreate sync:code: beta URL changed docker://a/x → docker://b/x; flush first',
  ],
  [
    'beta to SSH',
    (spec) => spec,
    (spec) => ({ ...spec, beta: { kind: 'sync', protocol: 'ssh', user: 'u', host: 'box', port: 2222, path: '~/code' } }),
    'recreate sync:code: beta URL changed docker://app/srv/code → u@box:2222:~/code; flush first',
  ],
  [
    'Docker environment',
    (spec) => spec,
    (spec) => ({ ...spec, beta: { ...spec.beta, environment: { DOCKER_HOST: 'tcp://remote:2375' } } }),
    'recreate sync:code: beta URL docker://app/srv/code changed its Docker environment (DOCKER_HOST); flush first',
  ],
  ['mode', configured({}), configured({ mode: 'two-way-resolved' }), 'recreate sync:code: mode changed two-way-safe → two-way-resolved; flush first'],
  ['hash', configured({}), configured({ hash: 'xxh128' }), 'recreate sync:code: hash changed sha1 → xxh128; flush first'],
  ['symlink mode', configured({}), configured({ symlink: { mode: 'posix-raw' } }), 'recreate sync:code: symlink.mode changed portable → posix-raw; flush first'],
  ['permissions mode', configured({}), configured({ permissions: { mode: 'manual' } }), 'recreate sync:code: permissions.mode changed portable → manual; flush first'],
  [
    'mode with in-place changes alongside',
    configured({ mode: 'one-way-safe' }),
    configured({ mode: 'one-way-replica', watch: { pollingInterval: 3 } }),
    'recreate sync:code: mode changed one-way-safe → one-way-replica; flush first',
  ],
];

describe('planProject: what changes in place and what recreates', () => {
  it.each(IN_PLACE)('updates in place, keeping the ancestor: %s', (_what, before, after, expected) => {
    const result = plan(project({ sync: [desiredSync('code', after)], hooks }), [observed(desiredSync('code', before), { id: 'sync_1' })]);
    expect(formatPlan(result)).toBe(expected);
    expect(result.actions[0]).toMatchObject({ kind: 'update', sessionId: 'sync_1' });
  });

  it.each(RECREATE)('recreates on a change of %s', (_what, before, after, expected) => {
    const code = desiredSync('code', after, true);
    const result = plan(project({ sync: [code], hooks: { beforeCreate: ['make'] } }), [observed(desiredSync('code', before), { id: 'sync_1' })]);
    expect(formatPlan(result)).toBe(`hook beforeCreate: 1 session to create\n  > make\n${expected}; flush on create`);
    expect(result.actions[1]).toMatchObject({ kind: 'recreate', sessionId: 'sync_1', flushFirst: true, flushOnCreate: true, spec: { labels: { 'io.mutagen.spec-hash': code.specHash } } });
  });

  it('lists the changed fields of an update, and pauses after updating under --paused', () => {
    const result = plan(
      project({ sync: [desiredSync('code', configured({ ignore: { paths: ['x'] }, watch: { pollingInterval: 9 } }))] }),
      [observed(desiredSync('code'), { id: 'sync_1' })],
      { paused: true },
    );
    expect(result.actions.map((action) => action.kind)).toEqual(['update', 'pause']);
    expect(result.actions[0]).toMatchObject({ changed: ['ignore.paths', 'watch.pollingInterval'] });
    expect(summarizePlan(result)).toBe('1 update, 1 pause');
  });
});

describe('planProject: flushing before a recreate', () => {
  const cases: [string, Partial<SyncConfiguration>, boolean, boolean][] = [
    ['two-way-safe (default)', {}, false, true],
    ['one-way-safe', { mode: 'one-way-safe' }, false, true],
    ['two-way-resolved', { mode: 'two-way-resolved' }, false, false],
    ['one-way-replica', { mode: 'one-way-replica' }, false, false],
    ['a paused two-way-safe session', {}, true, false],
  ];

  it.each(cases)('flushFirst for %s', (_what, configuration, paused, flushFirst) => {
    const before = desiredSync('code', configured(configuration));
    const after = desiredSync('code', (spec) => ({ ...configured(configuration)(spec), alpha: { ...spec.alpha, path: '/elsewhere' } }));
    const result = plan(project({ sync: [after] }), [observed(before, { id: 'sync_1', paused })]);
    const action = result.actions.find((step): step is Extract<Action, { kind: 'recreate' }> => step.kind === 'recreate');
    expect(action?.flushFirst).toBe(flushFirst);
    expect(result.warnings).toHaveLength(paused ? 1 : 0);
  });

  it('explains a recreate of a paused session in a warning', () => {
    const before = desiredSync('code');
    const after = desiredSync('code', configured({ hash: 'sha256' }));
    expect(text(project({ sync: [after] }), [observed(before, { id: 'sync_1', paused: true })])).toMatchInlineSnapshot(`
      "recreate sync:code: hash changed sha1 → sha256
      warning: sync:code is paused, so it is recreated without a final flush; changes it has not synchronized yet are reconciled by the new session"
    `);
  });
});

describe('planProject: forward sessions', () => {
  it('updates socket settings in place and recreates on an endpoint change', () => {
    const api = desiredForward('api');
    const web = desiredForward('web');
    const desired = project({
      forward: [
        desiredForward('api', (spec) => ({ ...spec, configuration: { socket: { overwriteMode: 'overwrite', permissionMode: 0o660 } } })),
        desiredForward('web', (spec) => ({ ...spec, destination: { ...spec.destination, path: 'tcp:localhost:8000' } })),
      ],
    });
    const result = plan(desired, [observed(api, { id: 'fwrd_1' }), observed(web, { id: 'fwrd_2' })]);
    expect(formatPlan(result)).toMatchInlineSnapshot(`
      "update forward:api: socket.overwriteMode unset → overwrite; socket.permissionMode unset → 0660
      recreate forward:web: destination URL changed docker://app:tcp:localhost:80 → docker://app:tcp:localhost:8000"
    `);
    expect(result.actions.find((action) => action.kind === 'recreate')).toMatchObject({ flushFirst: false, flushOnCreate: false });
  });
});

describe('the planner is pure', () => {
  it('imports no node: module and nothing outside base, model, config types and itself', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/planner');
    for (const name of fs.readdirSync(dir)) {
      const source = fs.readFileSync(path.join(dir, name), 'utf8');
      const imports = [...source.matchAll(/^import (type )?[^;]*? from '([^']+)';/gm)];
      for (const [, typeOnly, from = ''] of imports) {
        expect(from, `${name} imports ${from}`).toMatch(/^(\.\/|\.\.\/(base|model|config)\/)/);
        if (from.startsWith('../config/')) expect(typeOnly, `${name} imports config at run time`).toBe('type ');
      }
    }
  });
});

describe('planProject: unset and empty are the same', () => {
  it('sees no change between an empty and a missing Docker environment, ignore list or zero value', () => {
    const desired = desiredSync('code', configured({ ignore: { paths: ['x'] } }));
    const stored = desiredSync('code', (spec) => ({
      ...spec,
      beta: { kind: 'sync', protocol: 'docker', host: 'app', path: '/srv/code', port: 0 },
      configuration: { ...spec.configuration, maxEntryCount: 0, ignore: { paths: [] }, watch: { pollingInterval: 0 } },
    }));
    expect(text(project({ sync: [desired] }), [observed(stored, { id: 'sync_1' })])).toBe('update sync:code: ignore.paths (+x); rescan');
  });
});
