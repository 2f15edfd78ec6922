import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDocker, useContainers, type TestContainer } from '../helpers/docker.js';
import { eventually } from '../helpers/eventually.js';
import { useProcesses } from '../helpers/processes.js';
import { useTempDirectories } from '../helpers/temp.js';

// `mutagen project …` through the built CLI (npm run build first) and a real daemon, with two
// sync sessions into two containers of the test engine. DOCKER_HOST is set only in the CLI's
// environment: the URLs capture it at create time and the daemon uses what they captured.

const processes = useProcesses();

/** Pids of agent processes (`… agent.mjs synchronizer …`) running in a container. */
async function agentPids(container: TestContainer): Promise<number[]> {
  const script = `
    const fs = require('fs');
    const found = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).filter((p) => {
      try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\\0').some((arg) => arg.endsWith('/agent.mjs')); } catch { return false; }
    });
    process.stdout.write(JSON.stringify(found.map(Number)));`;
  const parsed: unknown = JSON.parse(await container.run(['node', '-e', script]));
  if (!Array.isArray(parsed) || !parsed.every((pid) => typeof pid === 'number')) throw new Error(`unexpected pids ${JSON.stringify(parsed)}`);
  return parsed;
}

describeDocker('a project with sync sessions into two containers', (docker) => {
  const containers = useContainers(docker);
  const temp = useTempDirectories();

  it('starts, converges, flushes edits, and terminate removes the sessions and the lock', async () => {
    const base = await temp('mtpd-');
    const env = { HOME: path.join(base, 'home'), MUTAGEN_DATA_DIRECTORY: path.join(base, 'data'), DOCKER_HOST: docker.dockerHost };
    await mkdir(env.HOME);
    processes.watchDataDirectory(env.MUTAGEN_DATA_DIRECTORY);
    const root = path.join(base, 'project');
    const mutagen = async (...args: string[]): Promise<string> => {
      const result = await processes.cli(args, { cwd: root, env });
      expect(result.code, `mutagen ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
      return result.stdout;
    };
    const [web, api] = await Promise.all([containers.start(docker.images.node), containers.start(docker.images.node)]);
    if (web === undefined || api === undefined) throw new Error('containers not started');
    await mkdir(path.join(root, 'web', 'assets'), { recursive: true });
    await mkdir(path.join(root, 'api'), { recursive: true });
    await writeFile(path.join(root, 'web', 'index.html'), '<h1>v1</h1>\n');
    await writeFile(path.join(root, 'web', 'assets', 'site.css'), 'body {}\n');
    await writeFile(path.join(root, 'api', 'server.js'), 'export {};\n');
    await writeFile(path.join(root, 'mutagen.yml'), [
      'sync:',
      '  defaults:',
      '    flushOnCreate: true',
      '    ignore: { vcs: true }',
      '  web:',
      '    alpha: ./web',
      `    beta: docker://${web.name}/tmp/www`,
      '  api:',
      '    alpha: ./api',
      `    beta: docker://app@${api.name}/~/api`,
      '',
    ].join('\n'));
    await mutagen('daemon', 'start');
    try {
      const started = await mutagen('project', 'start');
      expect(started).toMatch(/✔ create sync:web: created sync_[0-9a-zA-Z]{43}\n/);
      expect(started).toMatch(/✔ create sync:api: created sync_[0-9a-zA-Z]{43}\n/);
      expect(started).toContain('✔ flush sync:web: synchronized\n');
      expect(started).toContain('✔ flush sync:api: synchronized\n');
      expect(started).toMatch(/Project mutagen\.yml is running \(proj_[0-9a-zA-Z]{43}\): 2 create\n$/);
      const projectId = await readFile(path.join(root, 'mutagen.yml.lock'), 'utf8');

      // flushOnCreate: both containers hold the files when start returns.
      expect((await web.readFile('/tmp/www/index.html')).toString()).toBe('<h1>v1</h1>\n');
      expect((await web.readFile('/tmp/www/assets/site.css')).toString()).toBe('body {}\n');
      expect((await api.readFile('/home/app/api/server.js')).toString()).toBe('export {};\n');
      expect((await api.run(['stat', '-c', '%u:%g', '/home/app/api/server.js'])).trim()).toBe('1000:1000');
      const listed = await mutagen('project', 'list');
      expect(listed).toContain(`docker://${web.name}/tmp/www`);
      expect(listed).toContain(`docker://app@${api.name}/~/api`);

      // Edits on alpha propagate on flush; so do edits made inside a container.
      await writeFile(path.join(root, 'web', 'index.html'), '<h1>v2</h1>\n');
      await api.run(['sh', '-c', 'echo "// from the container" > /home/app/api/notes.js'], { user: 'app' });
      await mutagen('project', 'flush');
      expect((await web.readFile('/tmp/www/index.html')).toString()).toBe('<h1>v2</h1>\n');
      expect(await readFile(path.join(root, 'api', 'notes.js'), 'utf8')).toBe('// from the container\n');

      expect((await agentPids(web)).length).toBeGreaterThan(0);
      await mutagen('project', 'terminate');
      expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
      const remaining: unknown = JSON.parse(await mutagen('sync', 'list', '--json', '--label-selector', `io.mutagen.project=${projectId}`));
      expect(remaining).toEqual([]);
      // The agents in both containers went away with their sessions; the files stay.
      await eventually(async () => {
        expect(await agentPids(web)).toEqual([]);
        expect(await agentPids(api)).toEqual([]);
      }, { timeoutMs: 20_000, intervalMs: 200 });
      expect((await web.readFile('/tmp/www/index.html')).toString()).toBe('<h1>v2</h1>\n');
    } finally {
      await processes.cli(['daemon', 'stop'], { cwd: root, env });
    }
  });
});
