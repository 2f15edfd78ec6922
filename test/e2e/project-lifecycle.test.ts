import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { repository, useCliProject } from '../helpers/cli-project.js';
import { useProcesses } from '../helpers/processes.js';

// `mutagen project …` through the built CLI (npm run build first) with the real daemon
// (autostarted) and engine, in temp project folders with a temp HOME and data directory.

const processes = useProcesses();
const fixture = useCliProject(processes, 'mtpe-');
const mutagen = fixture.mutagen;

async function succeeds(cwd: string, ...args: string[]): Promise<string> {
  const result = await mutagen(cwd, ...args);
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

interface JsonSession {
  identifier: string;
  name: string;
  labels: Record<string, string>;
  paused: boolean;
  mode?: string;
  ignore: { paths?: string[]; vcs?: boolean };
  watch: { pollingInterval?: number };
  alpha: { path: string };
  beta: { path: string };
}

/** The sessions of one project (tests share the daemon), by name. */
async function sessions(cwd: string, projectId: string): Promise<Map<string, JsonSession>> {
  const parsed = JSON.parse(await succeeds(cwd, 'sync', 'list', '--json', '--label-selector', `io.mutagen.project=${projectId}`)) as JsonSession[];
  return new Map(parsed.map((session) => [session.name, session]));
}

async function folder(name: string): Promise<string> {
  const directory = path.join(fixture.base, name);
  await mkdir(directory, { recursive: true });
  return directory;
}

describe('the README walkthrough', () => {
  it('starts examples/mutagen.yml from the repository root, syncs, and terminate cleans up', async () => {
    const root = await folder('checkout');
    await cp(path.join(repository, 'examples/mutagen.yml'), path.join(root, 'examples/mutagen.yml'), { recursive: true });
    const started = await succeeds(root, 'project', 'start', '-f', 'examples/mutagen.yml');
    expect(started).toContain('> mkdir -p alpha beta\n');
    expect(started).toMatch(/✔ create sync:code: created sync_[0-9a-zA-Z]{43}\n/);
    expect(started).toContain('✔ flush sync:code: synchronized\n');
    expect(started).toMatch(/Project mutagen\.yml is running \(proj_[0-9a-zA-Z]{43}\): 1 create\n$/);
    // The hook ran in the examples folder; relative URLs resolved there too.
    expect(existsSync(path.join(root, 'examples/alpha'))).toBe(true);
    expect(existsSync(path.join(root, 'alpha'))).toBe(false);
    const projectId = await readFile(path.join(root, 'examples/mutagen.yml.lock'), 'utf8');
    const code = (await sessions(root, projectId)).get('code');
    expect(code).toMatchObject({
      labels: { 'io.mutagen.project': projectId },
      mode: 'two-way-safe',
      ignore: { vcs: true, paths: ['node_modules/', '*.log', '.DS_Store', '/build/', '*.tmp'] },
      watch: { pollingInterval: 5 },
      alpha: { path: path.join(root, 'examples/alpha') },
      beta: { path: path.join(root, 'examples/beta') },
    });
    expect(code?.labels['io.mutagen.spec-hash']).toMatch(/^[0-9a-f]{32}$/);
    await writeFile(path.join(root, 'examples/alpha/hello.txt'), 'hello\n');
    await succeeds(root, 'project', 'flush', '-f', 'examples/mutagen.yml');
    expect(await readFile(path.join(root, 'examples/beta/hello.txt'), 'utf8')).toBe('hello\n');
    expect(await succeeds(root, 'project', 'run', 'status', '-f', 'examples/mutagen.yml')).toContain('hello.txt');
    const listed = await succeeds(root, 'project', 'list', '-f', 'examples/mutagen.yml');
    expect(listed).toMatch(/^Forwarding sessions:\n-{80}\nNo forwarding sessions found\n-{80}\n\nSynchronization sessions:\n-{80}\nName: code\n/);
    const terminated = await succeeds(root, 'project', 'terminate', '-f', 'examples/mutagen.yml');
    expect(terminated).toContain('sessions terminated; alpha/ and beta/ are left as they are\n');
    expect(existsSync(path.join(root, 'examples/mutagen.yml.lock'))).toBe(false);
    expect((await sessions(root, projectId)).size).toBe(0);
  });
});

describe('converging a running project', () => {
  it('applies exactly the planned changes after the file was edited', async () => {
    const root = await folder('converge');
    const file = path.join(root, 'mutagen.yml');
    await writeFile(file, `
sync:
  defaults:
    ignore: { vcs: true }
  code: { alpha: ./code-a, beta: ./code-b }
  docs: { alpha: ./docs-a, beta: ./docs-b }
  assets: { alpha: ./assets-a, beta: ./assets-b }
  old: { alpha: ./old-a, beta: ./old-b }
`);
    await succeeds(root, 'project', 'start');
    const projectId = await readFile(`${file}.lock`, 'utf8');
    const before = await sessions(root, projectId);
    expect([...before.keys()].sort()).toEqual(['assets', 'code', 'docs', 'old']);
    await writeFile(file, `
sync:
  defaults:
    ignore: { vcs: true }
  code: { alpha: ./code-a, beta: ./code-b, ignore: { paths: [node_modules/] } }
  docs: { alpha: ./docs-a, beta: ./docs-b, mode: one-way-replica }
  assets: { alpha: ./assets-a, beta: ./assets-beta }
  added: { alpha: ./added-a, beta: ./added-b }
`);
    const plan = await succeeds(root, 'project', 'start', '--dry-run');
    expect(plan.replaceAll(root, '<root>').replace(/proj_[0-9a-zA-Z]{43}/, '<project>')).toMatchInlineSnapshot(`
      "Plan for mutagen.yml (project <project>):
        terminate sync:old: no longer in mutagen.yml
        update sync:code: ignore.paths (+node_modules/); rescan
        recreate sync:docs: mode changed two-way-safe → one-way-replica; flush first
        recreate sync:assets: beta URL changed <root>/assets-b → <root>/assets-beta; flush first
        create sync:added: not created yet
      Dry run: nothing was changed (1 terminate, 1 update, 2 recreate, 1 create).
      "
    `);
    expect(await sessions(root, projectId)).toEqual(before);
    const applied = await succeeds(root, 'project', 'start');
    expect(applied).toMatch(/: 1 terminate, 1 update, 2 recreate, 1 create\n$/);
    expect(await readFile(`${file}.lock`, 'utf8')).toBe(projectId);
    const after = await sessions(root, projectId);
    expect([...after.keys()].sort()).toEqual(['added', 'assets', 'code', 'docs']);
    expect(after.get('code')?.identifier).toBe(before.get('code')?.identifier);
    expect(after.get('code')?.ignore).toEqual({ vcs: true, paths: ['node_modules/'] });
    expect(after.get('docs')?.identifier).not.toBe(before.get('docs')?.identifier);
    expect(after.get('docs')?.mode).toBe('one-way-replica');
    expect(after.get('assets')?.identifier).not.toBe(before.get('assets')?.identifier);
    expect(after.get('assets')?.beta.path).toBe(path.join(root, 'assets-beta'));
    for (const session of after.values()) expect(session.labels['io.mutagen.project']).toBe(projectId);
    expect(await succeeds(root, 'project', 'start')).toMatch(/: 4 keep\n$/);
    const json = JSON.parse(await succeeds(root, 'project', 'list', '--json')) as { forward: unknown[]; sync: JsonSession[] };
    expect(json.forward).toEqual([]);
    expect(json.sync.map((session) => session.name).sort()).toEqual(['added', 'assets', 'code', 'docs']);
    await succeeds(root, 'project', 'terminate');
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect((await sessions(root, projectId)).size).toBe(0);
  });

  it('lets concurrent starts of one project run one after the other', async () => {
    const root = await folder('concurrent');
    await writeFile(path.join(root, 'mutagen.yml'), 'sync:\n  web:\n    alpha: ./a\n    beta: ./b\n');
    const [first, second] = await Promise.all([mutagen(root, 'project', 'start'), mutagen(root, 'project', 'start')]);
    expect([first.code, second.code]).toEqual([0, 0]);
    // One of them created the session; the other found it and kept it.
    expect([first.stdout, second.stdout].map((out) => /: (1 create|1 keep)\n$/.exec(out)?.[1]).sort()).toEqual(['1 create', '1 keep']);
    const projectId = await readFile(path.join(root, 'mutagen.yml.lock'), 'utf8');
    expect([...(await sessions(root, projectId)).keys()]).toEqual(['web']);
    await succeeds(root, 'project', 'terminate');
  });
});
