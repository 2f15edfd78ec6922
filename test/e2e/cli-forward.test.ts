import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useCliProject } from '../helpers/cli-project.js';
import { eventually } from '../helpers/eventually.js';
import { CLI_PATH, useProcesses, type ProcessResult } from '../helpers/processes.js';
import { freePort, roundTrip } from '../helpers/net.js';

// `mutagen forward …` through the built CLI (npm run build first) and the real daemon, with real
// TCP listeners on 127.0.0.1 and Unix sockets in temp folders: traffic, listing, pause/resume/
// terminate, labels and selectors, monitor, and bad input.

const processes = useProcesses();
const fixture = useCliProject(processes, 'mtfc-');
const servers: net.Server[] = [];
let folders = 0;

afterEach(async () => {
  await fixture.mutagen(fixture.base, 'forward', 'terminate', '--all');
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => { server.close(() => resolve()); })));
});

type Where = number | string;

/** An echo server on 127.0.0.1:<port> (0 = any) or a Unix socket path; closed after the test. */
async function echoServer(where: Where = 0): Promise<Where> {
  const server = net.createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, resolve);
    else server.listen(where, '127.0.0.1', resolve);
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : where;
}

async function folder(): Promise<string> {
  const directory = path.join(fixture.base, `f${++folders}`);
  await mkdir(directory);
  return directory;
}

function mutagen(...args: string[]): Promise<ProcessResult> {
  return fixture.mutagen(fixture.base, ...args);
}

async function succeeds(...args: string[]): Promise<string> {
  const result = await mutagen(...args);
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

async function create(...args: string[]): Promise<string> {
  const result = await mutagen('forward', 'create', ...args);
  expect(result.code, result.stderr).toBe(0);
  const id = /^Created session (fwrd_[0-9a-zA-Z]{43})\n$/.exec(result.stdout)?.[1];
  expect(id, result.stdout).toBeDefined();
  return id ?? '';
}

async function fails(...args: string[]): Promise<string> {
  const result = await mutagen(...args);
  expect(result.code, result.stdout).toBe(1);
  expect(result.stdout).toBe('');
  return result.stderr.replaceAll(fixture.base, '<base>');
}

interface JsonForward {
  identifier: string;
  name?: string;
  labels?: Record<string, string>;
  paused: boolean;
  status: string;
  lastError?: string;
  openConnections?: number;
  totalConnections?: number;
  droppedConnections?: number;
  totalOutboundData?: number;
  totalInboundData?: number;
  [key: string]: unknown;
}

async function listJson(...args: string[]): Promise<JsonForward[]> {
  return JSON.parse(await succeeds('forward', 'list', '--json', ...args)) as JsonForward[];
}

/** Polls `forward list --json <name>` until `accept` holds for the single session. */
function settled(name: string, accept: (session: JsonForward) => boolean): Promise<JsonForward> {
  return eventually(async () => {
    const [session] = await listJson(name);
    if (session === undefined || !accept(session)) throw new Error(`not yet: ${JSON.stringify(session)}`);
    return session;
  });
}

/** Replaces each value by `<label>` (in the order given), then the fixture's base folder by `<base>`. */
function redact(text: string, replacements: Record<string, string | number>): string {
  let out = text;
  for (const [label, value] of Object.entries(replacements)) out = out.replaceAll(String(value), `<${label}>`);
  return out.replaceAll(fixture.base, '<base>');
}

describe('forward create and traffic (tcp → tcp)', () => {
  it('forwards connections, counts them, and lists them (human and JSON)', async () => {
    const target = await echoServer();
    const listen = await freePort();
    const id = await create('-n', 'web', '-l', 'team=a,tier', `tcp:127.0.0.1:${listen}`, `tcp:127.0.0.1:${target}`);
    expect(await roundTrip(listen, 'hello')).toBe('hello');
    const json = await settled('web', (s) => s.totalConnections === 1 && s.openConnections === 0);
    expect(json).toEqual({
      identifier: id, version: 1, creationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) as unknown,
      creatingVersion: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown,
      source: { protocol: 'local', endpoint: `tcp:127.0.0.1:${listen}`, socket: {}, connected: true },
      destination: { protocol: 'local', endpoint: `tcp:127.0.0.1:${target}`, socket: {}, connected: true },
      socket: {}, name: 'web', labels: { team: 'a', tier: '' }, paused: false, status: 'forwarding',
      openConnections: 0, totalConnections: 1, totalOutboundData: 5, totalInboundData: 5, droppedConnections: 0,
    });
    expect(await succeeds('forward', 'list', '--template', '{{json .}}')).toBe(`${JSON.stringify([json])}\n`);
    expect(redact(await succeeds('forward', 'list'), { id, listen, target })).toMatchInlineSnapshot(`
      "--------------------------------------------------------------------------------
      Name: web
      Identifier: <id>
      Source:
      	URL: tcp:127.0.0.1:<listen>
      	Connected: Yes
      Destination:
      	URL: tcp:127.0.0.1:<target>
      	Connected: Yes
      Status: Forwarding
      Connections: 0 open, 1 total, 5 B outbound, 5 B inbound
      --------------------------------------------------------------------------------
      "
    `);
    // Many at once, each byte-identical.
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => roundTrip(listen, `message ${i} `.repeat(1000))));
    replies.forEach((reply, i) => expect(reply).toBe(`message ${i} `.repeat(1000)));
    await settled('web', (s) => s.totalConnections === 21 && s.openConnections === 0);
  });

  it('pause closes the listener, resume reopens it, terminate removes the session', async () => {
    const target = await echoServer();
    const listen = await freePort();
    await create('--name', 'web', `tcp:127.0.0.1:${listen}`, `tcp:127.0.0.1:${target}`);
    expect(await roundTrip(listen, 'one')).toBe('one');
    expect(await succeeds('forward', 'pause', 'web')).toBe('');
    await expect(roundTrip(listen, 'refused')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const listed = await succeeds('forward', 'list', 'web');
    expect(listed).toContain('Status: [Paused]\n');
    expect(listed).not.toContain('Connections:');
    const [paused] = await listJson('web');
    expect(paused).toMatchObject({ paused: true, status: 'disconnected' });
    for (const key of ['openConnections', 'totalConnections', 'totalOutboundData', 'totalInboundData', 'droppedConnections', 'lastError']) {
      expect(paused).not.toHaveProperty(key);
    }
    expect(await succeeds('forward', 'resume', 'web')).toBe('');
    expect(await eventually(() => roundTrip(listen, 'two'))).toBe('two');
    expect(await succeeds('forward', 'terminate', 'web')).toBe('');
    await expect(roundTrip(listen, 'gone')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await succeeds('forward', 'list')).toBe(`${'-'.repeat(80)}\nNo forwarding sessions found\n${'-'.repeat(80)}\n`);
    expect(await succeeds('forward', 'list', '--json')).toBe('[]\n');
  });

  it('drops a connection whose target refuses, keeps forwarding, and says so', async () => {
    const target = await freePort();
    const listen = await freePort();
    const id = await create('-n', 'lonely', `tcp:127.0.0.1:${listen}`, `tcp:127.0.0.1:${target}`);
    // The daemon accepts, fails to dial, and closes (or resets) just this connection.
    const reply = await roundTrip(listen, 'anyone?').catch((error: unknown) => {
      if (error instanceof Error && 'code' in error && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return '';
      throw error;
    });
    expect(reply).toBe('');
    const json = await settled('lonely', (s) => s.droppedConnections === 1 && s.openConnections === 0);
    expect(json).toMatchObject({ status: 'forwarding', totalConnections: 1, lastError: expect.stringMatching(/ECONNREFUSED|refused/i) as unknown });
    const listed = redact(await succeeds('forward', 'list'), { id, listen, target });
    expect(listed).toMatch(/\nLast error: .*(ECONNREFUSED|refused).*\nStatus: Forwarding\nConnections: 0 open, 1 total, 0 B outbound, 0 B inbound, 1 dropped\n/i);
    await echoServer(target);
    expect(await roundTrip(listen, 'now')).toBe('now');
  });
});

describe('unix sockets and socket settings', () => {
  it('listens on a relative unix path with the default mode and dials a unix target', async () => {
    const directory = await folder();
    const target = await echoServer(path.join(directory, 'target.sock'));
    const result = await fixture.mutagen(directory, 'forward', 'create', '-n', 'sock', 'unix:listen.sock', `unix:${String(target)}`);
    expect(result.code, result.stderr).toBe(0);
    const socketPath = path.join(directory, 'listen.sock');
    expect(((await lstat(socketPath)).mode & 0o777).toString(8)).toBe('600');
    expect(await roundTrip(socketPath, 'over unix')).toBe('over unix');
    const [json] = await listJson('sock');
    expect(json?.['source']).toEqual({ protocol: 'local', endpoint: `unix:${socketPath}`, socket: {}, connected: true });
    expect(await succeeds('forward', 'terminate', 'sock')).toBe('');
    expect(existsSync(socketPath)).toBe(false);
  });

  it('merges ~/.mutagen.yml, -c files and flags, applies them, and shows them with -l', async () => {
    const directory = await folder();
    const target = await echoServer();
    const global = path.join(fixture.base, 'home/.mutagen.yml');
    const gid = process.getgid?.() ?? 0;
    await writeFile(global, `forward:\n  defaults:\n    socket:\n      permissionMode: "0604"\n      group: id:${gid}\n`);
    await writeFile(path.join(directory, 'defaults.yml'), 'forward:\n  defaults:\n    socket:\n      permissionMode: "0640"\n');
    try {
      const uid = process.getuid?.() ?? 0;
      const socketPath = path.join(directory, 'web.sock');
      await writeFile(socketPath, 'stale');
      const result = await fixture.mutagen(directory, 'forward', 'create', '-n', 'conf', '-l', 'z=1,a', '-c', 'defaults.yml',
        '--socket-overwrite-mode', 'overwrite', '--socket-owner-source', `id:${uid}`, '--no-global-configuration',
        `unix:${socketPath}`, `tcp:127.0.0.1:${target}`);
      expect(result.code, result.stderr).toBe(0);
      expect(((await lstat(socketPath)).mode & 0o777).toString(8)).toBe('640');
      expect(await roundTrip(socketPath, 'x')).toBe('x');
      await settled('conf', (s) => s.totalConnections === 1 && s.openConnections === 0);
      const listed = redact(await succeeds('forward', 'list', '-l', 'conf'), { directory, target });
      expect(listed.replace(/fwrd_\w+/, '<id>').replace(`id:${uid}`, 'id:<uid>')).toMatchInlineSnapshot(`
        "--------------------------------------------------------------------------------
        Name: conf
        Identifier: <id>
        Labels:
        	a: <empty>
        	z: 1
        Source:
        	URL: unix:<directory>/web.sock
        	Configuration:
        		Socket overwrite mode: Overwrite
        		Socket owner: id:<uid>
        		Socket group: Default
        		Socket permission mode: 0640
        	Connected: Yes
        Destination:
        	URL: tcp:127.0.0.1:<target>
        	Configuration:
        		Socket overwrite mode: Overwrite
        		Socket owner: Default
        		Socket group: Default
        		Socket permission mode: 0640
        	Connected: Yes
        Status: Forwarding
        Connections: 0 open, 1 total, 1 B outbound, 1 B inbound
        --------------------------------------------------------------------------------
        "
      `);
      const [json] = await listJson('conf');
      expect(json).toMatchObject({ socket: { overwriteMode: 'overwrite', permissionMode: '0640' }, source: { socket: { owner: `id:${uid}` } } });
      // Without --no-global-configuration the global defaults sit below the -c file.
      const second = path.join(directory, 'second.sock');
      expect((await fixture.mutagen(directory, 'forward', 'create', '-n', 'global', `unix:${second}`, `tcp:127.0.0.1:${target}`)).code).toBe(0);
      expect(((await lstat(second)).mode & 0o777).toString(8)).toBe('604');
      expect((await listJson('global'))[0]).toMatchObject({ socket: { permissionMode: '0604', group: `id:${gid}` } });
    } finally {
      await writeFile(global, '');
    }
  });
});

describe('labels, names and selection', () => {
  it('selects by name, identifier and label selector; names may repeat (with a warning)', async () => {
    const port = await freePort();
    const db = await create('--paused', '-n', 'db', '-l', 'tier=db', `tcp:127.0.0.1:${port}`, 'tcp:127.0.0.1:5432');
    const web = await create('--paused', '-n', 'web', '-l', 'tier=web', `tcp:127.0.0.1:${port + 1}`, 'tcp:127.0.0.1:80');
    const again = await mutagen('forward', 'create', '--paused', '-n', 'db', `tcp:127.0.0.1:${port + 2}`, 'tcp:127.0.0.1:5433');
    expect(again.code).toBe(0);
    expect(again.stderr).toBe(`Warning: another forwarding session is already named "db" (${db}); names are not unique, so selecting by this name will address all of them\n`);
    expect((await listJson('--label-selector', 'tier=db')).map((s) => s.identifier)).toEqual([db]);
    expect((await listJson('--label-selector', 'tier in (db,web)')).map((s) => s.identifier)).toEqual([db, web]);
    expect((await listJson('db')).map((s) => s.name)).toEqual(['db', 'db']);
    expect((await listJson(web)).map((s) => s.name)).toEqual(['web']);
    expect(await listJson('--label-selector', 'tier=none')).toEqual([]);
    expect(await succeeds('forward', 'terminate', '--label-selector', 'tier!=web')).toBe('');
    expect((await listJson()).map((s) => s.identifier)).toEqual([web]);
  });

  it('refuses bad selections before changing anything', async () => {
    await create('--paused', '-n', 'keep', `tcp:127.0.0.1:${await freePort()}`, 'tcp:127.0.0.1:80');
    expect(await fails('forward', 'pause')).toBe('Error: invalid session selection specification: no selection mechanisms present\n');
    expect(await fails('forward', 'terminate', '-a', 'keep')).toBe('Error: invalid session selection specification: multiple selection mechanisms present\n');
    expect(await fails('forward', 'terminate', 'keep', 'nosuch')).toContain('did not match any sessions');
    expect(await fails('forward', 'list', '--label-selector', 'a in (')).toMatch(/^Error: invalid session selection specification: /);
    expect(await fails('forward', 'list', '-a')).toBe('Error: unknown flag: -a\n');
    expect(await fails('forward', 'flush')).toBe('Error: unknown command "flush" for "mutagen forward"\n');
    expect(await fails('forward', 'monitor', 'nosuch')).toContain('did not match any sessions');
    expect((await listJson()).map((s) => s.name)).toEqual(['keep']);
  });
});

describe('forward monitor', () => {
  it('prints the header, then a status line per change, until interrupted', async () => {
    const target = await echoServer();
    const listen = await freePort();
    await create('-n', 'watched', `tcp:127.0.0.1:${listen}`, `tcp:127.0.0.1:${target}`);
    const env = { HOME: path.join(fixture.base, 'home'), MUTAGEN_DATA_DIRECTORY: path.join(fixture.base, 'data') };
    const monitor = processes.spawn([process.execPath, CLI_PATH, 'forward', 'monitor', 'watched'], { env, cwd: fixture.base });
    await eventually(() => expect(monitor.output().stdout).toContain('Forwarding: 0 open, 0 total, 0 B outbound, 0 B inbound\n'));
    expect(monitor.output().stdout).toMatch(/^Name: watched\nIdentifier: fwrd_\w{43}\nSource:\n\tURL: tcp:127\.0\.0\.1:\d+\nDestination:\n\tURL: tcp:127\.0\.0\.1:\d+\n/);
    expect(await roundTrip(listen, 'ping')).toBe('ping');
    await eventually(() => expect(monitor.output().stdout).toContain('Forwarding: 0 open, 1 total, 4 B outbound, 4 B inbound\n'));
    await succeeds('forward', 'pause', 'watched');
    await eventually(() => expect(monitor.output().stdout).toContain('[Paused]\n'));
    process.kill(monitor.pid, 'SIGINT');
    expect((await monitor.exited).code).toBe(130);
    const json = processes.spawn([process.execPath, CLI_PATH, 'forward', 'monitor', '--json', 'watched'], { env, cwd: fixture.base });
    await eventually(() => expect(json.output().stdout).toMatch(/^\[\{"identifier":"fwrd_\w{43}".*"paused":true.*\}\]\n/));
    process.kill(json.pid, 'SIGINT');
    expect((await json.exited).code).toBe(130);
  });
});

describe('bad input', () => {
  it('reports URL and flag errors with the spec fragments, creating nothing', async () => {
    const cases: [string[], string][] = [
      [['tcp:127.0.0.1:1'], 'Error: invalid number of endpoint URLs provided\n'],
      [['nonsense', 'tcp:127.0.0.1:1'], 'Error: unable to parse source URL: invalid forwarding endpoint URL: incorrectly formatted URL\n'],
      [['tcp:127.0.0.1:1', 'udp:x'], 'Error: unable to parse destination URL: invalid forwarding endpoint URL: invalid protocol: udp\n'],
      [['tcp:', 'tcp:127.0.0.1:1'], 'Error: unable to parse source URL: invalid forwarding endpoint URL: empty address\n'],
      [['', 'tcp:127.0.0.1:1'], 'Error: unable to parse source URL: empty URL\n'],
      [['-n', '9lives', 'tcp::1', 'tcp::2'], 'Error: invalid session name: name does not start with Unicode letter\n'],
      [['--socket-permission-mode', '0999', 'tcp::1', 'tcp::2'], 'Error: unable to parse socket permission mode: unable to parse numeric value: invalid octal number: "0999"\n'],
      [['--socket-overwrite-mode-destination', 'sideways', 'tcp::1', 'tcp::2'],
        'Error: unable to parse socket overwrite mode for destination: unknown socket overwrite mode specification: sideways\n'],
      [['--socket-owner', 'id:01', 'tcp::1', 'tcp::2'], 'Error: invalid socket owner specification: invalid POSIX user or group identifier: "01"\n'],
      [['-c', 'missing.yml', 'tcp::1', 'tcp::2'], 'Error: unable to load configuration file (missing.yml): '],
    ];
    for (const [args, expected] of cases) {
      const stderr = await fails('forward', 'create', ...args);
      if (expected.endsWith('\n')) expect(stderr).toBe(expected);
      else expect(stderr.startsWith(expected), stderr).toBe(true);
    }
    expect(await fails('forward', 'create', '-l', 'bad key', 'tcp::1', 'tcp::2')).toMatch(/^Error: invalid label key/);
    expect(await listJson()).toEqual([]);
  });

  it('fails create clearly for npipe, a port in use, and an existing file with overwrite mode leave', async () => {
    const target = await echoServer();
    expect(await fails('forward', 'create', 'npipe:pipe', `tcp:127.0.0.1:${target}`)).toContain('Windows named pipes not supported on POSIX systems');
    const busy = await echoServer();
    expect(await fails('forward', 'create', `tcp:127.0.0.1:${busy}`, `tcp:127.0.0.1:${target}`)).toMatch(/^Error: unable to connect to source: .*(in use|EADDRINUSE)/i);
    const directory = await folder();
    const taken = path.join(directory, 'taken.sock');
    await writeFile(taken, 'keep me');
    expect(await fails('forward', 'create', `unix:${taken}`, `tcp:127.0.0.1:${target}`)).toMatch(/^Error: unable to connect to source: /);
    expect(await readFile(taken, 'utf8')).toBe('keep me');
    const missing = path.join(directory, 'no/such/dir/x.sock');
    expect(await fails('forward', 'create', `unix:${missing}`, `tcp:127.0.0.1:${target}`)).toMatch(/^Error: unable to connect to source: /);
    expect(await listJson()).toEqual([]);
  });
});
