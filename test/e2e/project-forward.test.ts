import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useCliProject } from '../helpers/cli-project.js';
import { eventually } from '../helpers/eventually.js';
import { useProcesses } from '../helpers/processes.js';
import { freePort, roundTrip } from '../helpers/net.js';

// Forward sessions of mutagen.yml through the built CLI (npm run build first) and the real
// daemon: `project start` creates them (traffic flows), `project list` shows them, pause/resume
// act on them, an edited file converges them (recreate, update in place), terminate removes them.

const processes = useProcesses();
const fixture = useCliProject(processes, 'mtfp-');
const mutagen = fixture.mutagen;
const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => { server.close(() => resolve()); })));
});

/** A server on 127.0.0.1 that answers each connection with `tag` and then echoes. */
async function taggedEcho(tag: string): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write(tag);
    socket.pipe(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

async function succeeds(cwd: string, ...args: string[]): Promise<string> {
  const result = await mutagen(cwd, ...args);
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

interface JsonForward {
  identifier: string;
  name: string;
  labels: Record<string, string>;
  paused: boolean;
  status: string;
  socket: { permissionMode?: string };
  source: { endpoint: string };
  destination: { endpoint: string };
}

async function forwards(cwd: string, projectId: string): Promise<Map<string, JsonForward>> {
  const parsed = JSON.parse(await succeeds(cwd, 'forward', 'list', '--json', '--label-selector', `io.mutagen.project=${projectId}`)) as JsonForward[];
  return new Map(parsed.map((session) => [session.name, session]));
}

function projectFile(listen: number, target: number, mode: string): string {
  return [
    'forward:',
    '  defaults:',
    '    destination: tcp:127.0.0.1:' + String(target),
    '    socket:',
    `      permissionMode: "${mode}"`,
    '  web:',
    `    source: tcp:127.0.0.1:${listen}`,
    '  sock:',
    '    source: unix:app.sock',
    'sync:',
    '  code:',
    '    alpha: ./a',
    '    beta: ./b',
    '',
  ].join('\n');
}

function mode(file: string): Promise<string> {
  return lstat(file).then((stats) => (stats.mode & 0o777).toString(8));
}

describe('forward sessions in mutagen.yml', () => {
  it('start creates them, list shows them, pause/resume act on them, an edit converges them, terminate removes them', async () => {
    const root = path.join(fixture.base, 'project');
    await mkdir(root);
    const first = await taggedEcho('A:');
    const listen = await freePort();
    const socketPath = path.join(root, 'app.sock');
    await writeFile(path.join(root, 'mutagen.yml'), projectFile(listen, first, '0640'));

    const started = await succeeds(root, 'project', 'start');
    expect(started).toMatch(/✔ create forward:web: created fwrd_[0-9a-zA-Z]{43}\n/);
    expect(started).toMatch(/✔ create forward:sock: created fwrd_[0-9a-zA-Z]{43}\n/);
    expect(started).toMatch(/✔ create sync:code: created sync_[0-9a-zA-Z]{43}\n/);
    const projectId = await readFile(path.join(root, 'mutagen.yml.lock'), 'utf8');
    expect(await roundTrip(listen, 'tcp')).toBe('A:tcp');
    expect(await roundTrip(socketPath, 'unix')).toBe('A:unix');
    expect(await mode(socketPath)).toBe('640');

    const sessions = await forwards(root, projectId);
    expect([...sessions.keys()].sort()).toEqual(['sock', 'web']);
    expect(sessions.get('web')).toMatchObject({
      labels: { 'io.mutagen.project': projectId }, paused: false, status: 'forwarding', socket: { permissionMode: '0640' },
      source: { endpoint: `tcp:127.0.0.1:${listen}` }, destination: { endpoint: `tcp:127.0.0.1:${first}` },
    });
    expect(sessions.get('sock')?.source.endpoint).toBe(`unix:${socketPath}`);
    expect(sessions.get('web')?.labels['io.mutagen.spec-hash']).toMatch(/^[0-9a-f]{32}$/);

    const listed = await succeeds(root, 'project', 'list');
    // Forward sessions of one step are created concurrently: either may be listed first.
    expect(listed).toMatch(/^Forwarding sessions:\n-{80}\nName: (web|sock)\n/);
    expect(listed).toContain(`Name: web\nIdentifier: ${sessions.get('web')?.identifier ?? ''}\nSource:\n\tURL: tcp:127.0.0.1:${listen}\n\tConnected: Yes\n`);
    expect(listed).toContain(`Name: sock\nIdentifier: ${sessions.get('sock')?.identifier ?? ''}\nSource:\n\tURL: unix:${socketPath}\n`);
    expect(listed).toContain('Status: Forwarding\nConnections: ');
    expect(listed).toMatch(/\n\nSynchronization sessions:\n-{80}\nName: code\n/);
    const json = JSON.parse(await succeeds(root, 'project', 'list', '--json')) as { forward: JsonForward[]; sync: { name: string }[] };
    expect(json.forward.map((session) => session.name).sort()).toEqual(['sock', 'web']);
    expect(json.sync.map((session) => session.name)).toEqual(['code']);

    await succeeds(root, 'project', 'pause');
    await expect(roundTrip(listen, 'paused')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect([...(await forwards(root, projectId)).values()].map((session) => session.paused)).toEqual([true, true]);
    expect(await succeeds(root, 'project', 'list')).toContain('Status: [Paused]\n');
    await succeeds(root, 'project', 'resume');
    expect(await eventually(() => roundTrip(listen, 'back'))).toBe('A:back');

    // web gets a new destination (recreate); sock only a new permission mode (update in place).
    const second = await taggedEcho('B:');
    const sockId = sessions.get('sock')?.identifier;
    await writeFile(path.join(root, 'mutagen.yml'), projectFile(listen, first, '0600').replace(`    source: tcp:127.0.0.1:${listen}`,
      `    source: tcp:127.0.0.1:${listen}\n    destination: tcp:127.0.0.1:${second}`));
    const converged = await succeeds(root, 'project', 'start');
    expect(converged).toContain('recreate forward:web');
    expect(converged).toContain('update forward:sock');
    expect(await eventually(() => roundTrip(listen, 'moved'))).toBe('B:moved');
    const after = await forwards(root, projectId);
    expect(after.get('sock')?.identifier).toBe(sockId);
    expect(after.get('sock')?.socket.permissionMode).toBe('0600');
    expect(after.get('web')?.identifier).not.toBe(sessions.get('web')?.identifier);
    await eventually(async () => expect(await mode(socketPath)).toBe('600'));
    expect(await eventually(() => roundTrip(socketPath, 'still'))).toBe('A:still');

    await succeeds(root, 'project', 'terminate');
    expect((await forwards(root, projectId)).size).toBe(0);
    await expect(roundTrip(listen, 'gone')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
  });

  it('a forward listener that cannot bind stops start before the sync sessions; terminate cleans up', async () => {
    const root = path.join(fixture.base, 'busy');
    await mkdir(root);
    const busy = await taggedEcho('busy');
    await writeFile(path.join(root, 'mutagen.yml'), `forward:\n  web:\n    source: tcp:127.0.0.1:${busy}\n    destination: tcp:127.0.0.1:${busy}\nsync:\n  code:\n    alpha: ./a\n    beta: ./b\n`);
    const result = await mutagen(root, 'project', 'start');
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toMatch(/Error: unable to create forwarding session \(web\): unable to connect to source: .*(in use|EADDRINUSE)/i);
    expect(result.stderr).toContain('Not run: create sync:code');
    const projectId = await readFile(path.join(root, 'mutagen.yml.lock'), 'utf8');
    expect((await forwards(root, projectId)).size).toBe(0);
    await succeeds(root, 'project', 'terminate');
    expect(existsSync(path.join(root, 'mutagen.yml.lock'))).toBe(false);
  });
});
