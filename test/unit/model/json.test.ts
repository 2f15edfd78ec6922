import { describe, expect, it } from 'vitest';
import type { SyncConfiguration } from '../../../src/model/configuration.js';
import { emptyForwardConfiguration, emptySyncConfiguration } from '../../../src/model/configuration.js';
import type { Conflict, Entry, Problem } from '../../../src/model/entry.js';
import { directory } from '../../../src/model/entry.js';
import { configurationToJson, forwardSessionToJson, syncSessionToJson } from '../../../src/model/json.js';
import type { EndpointState, ForwardSessionState, SyncSessionRecord, SyncSessionState } from '../../../src/model/session.js';

const disconnected: EndpointState = {
  connected: false, scanned: false, directories: 0, files: 0, symbolicLinks: 0, totalFileSize: 0,
  scanProblems: [], excludedScanProblems: 0, transitionProblems: [], excludedTransitionProblems: 0, stagingProgress: undefined,
};

function record(overrides: Partial<SyncSessionRecord> = {}): SyncSessionRecord {
  return {
    id: 'sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL', version: 1, name: '', labels: {}, paused: false,
    alpha: { kind: 'sync', protocol: 'local', path: '/a' }, beta: { kind: 'sync', protocol: 'local', path: '/b' },
    configuration: emptySyncConfiguration(), configurationAlpha: emptySyncConfiguration(), configurationBeta: emptySyncConfiguration(),
    createdAt: '2026-04-22T11:39:53.120Z', creatingVersion: '0.1.0',
    ...overrides,
  };
}

function state(overrides: Partial<SyncSessionState> = {}, session: Partial<SyncSessionRecord> = {}): SyncSessionState {
  return {
    session: record(session), status: 'watching', lastError: undefined, successfulCycles: 0, conflicts: [], excludedConflicts: 0,
    alpha: disconnected, beta: disconnected, ...overrides,
  };
}

const file = (byte: number, executable = false): Entry => ({ kind: 'file', digest: new Uint8Array([byte, 0xff]), executable });

describe('syncSessionToJson', () => {
  it('reproduces the §6.7 example exactly', () => {
    const example = state(
      {
        status: 'connecting-beta', lastError: 'unable to connect to beta: …', successfulCycles: 4,
        alpha: { ...disconnected, connected: true, scanned: true, directories: 3, files: 10, totalFileSize: 48213 },
      },
      {
        createdAt: '2026-04-22T11:39:53.123456Z', creatingVersion: '0.18.1', name: 'web', labels: { team: 'a' },
        alpha: { kind: 'sync', protocol: 'local', path: '/home/u/src' },
        beta: { kind: 'sync', protocol: 'docker', user: 'www', host: 'web', path: '/var/www', environment: { DOCKER_HOST: 'unix:///var/run/docker.sock' } },
        configuration: { ...emptySyncConfiguration(), mode: 'two-way-resolved', ignore: { paths: ['node_modules'], vcs: true } },
        configurationBeta: { ...emptySyncConfiguration(), permissions: { defaultFileMode: 0o644 } },
      },
    );
    const expected =
      '[{"identifier":"sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL","version":1,"creationTime":"2026-04-22T11:39:53.123456Z",' +
      '"creatingVersion":"0.18.1","alpha":{"protocol":"local","path":"/home/u/src","ignore":{},"symlink":{},"watch":{},' +
      '"permissions":{},"compression":{},"connected":true,"scanned":true,"directories":3,"files":10,"totalFileSize":48213},' +
      '"beta":{"protocol":"docker","user":"www","host":"web","path":"/var/www","environment":{"DOCKER_HOST":"unix:///var/run/docker.sock"},' +
      '"ignore":{},"symlink":{},"watch":{},"permissions":{"defaultFileMode":"0644"},"compression":{},"connected":false},' +
      '"mode":"two-way-resolved","ignore":{"paths":["node_modules"],"vcs":true},"symlink":{},"watch":{},"permissions":{},' +
      '"compression":{},"name":"web","labels":{"team":"a"},"paused":false,"status":"connecting-beta",' +
      '"lastError":"unable to connect to beta: …","successfulCycles":4}]';
    expect(JSON.stringify([syncSessionToJson(example)])).toBe(expected);
  });

  it('omits run-time state when paused', () => {
    const paused = state(
      { status: 'disconnected', lastError: 'boom', successfulCycles: 3, conflicts: [{ root: 'x', alphaChanges: [], betaChanges: [] }], excludedConflicts: 2 },
      { paused: true, createdAt: '2026-01-02T03:04:05.000Z' },
    );
    expect(JSON.stringify(syncSessionToJson(paused))).toMatchInlineSnapshot(`"{"identifier":"sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL","version":1,"creationTime":"2026-01-02T03:04:05Z","creatingVersion":"0.1.0","alpha":{"protocol":"local","path":"/a","ignore":{},"symlink":{},"watch":{},"permissions":{},"compression":{},"connected":false},"beta":{"protocol":"local","path":"/b","ignore":{},"symlink":{},"watch":{},"permissions":{},"compression":{},"connected":false},"ignore":{},"symlink":{},"watch":{},"permissions":{},"compression":{},"paused":true,"status":"disconnected"}"`);
  });

  it('lists conflicts slim, sorted by root, at most ten', () => {
    const conflicts: Conflict[] = Array.from({ length: 12 }, (_, i) => ({
      root: `dir/${String(11 - i).padStart(2, '0')}`,
      alphaChanges: [{ path: `dir/${String(11 - i).padStart(2, '0')}`, old: undefined, new: file(i) }],
      betaChanges: [],
    }));
    const json = syncSessionToJson(state({ conflicts, excludedConflicts: 5 }));
    const listed = json['conflicts'] as { root: string }[];
    expect(listed.map((conflict) => conflict.root)).toEqual(Array.from({ length: 10 }, (_, i) => `dir/${String(i).padStart(2, '0')}`));
    expect(json['excludedConflicts']).toBe(7);
  });

  it('encodes every entry kind in conflicts', () => {
    const children = new Map<string, Entry>([['child', file(1)]]);
    const conflict: Conflict = {
      root: '',
      alphaChanges: [
        { path: '', old: directory(children), new: file(0xab, true) },
        { path: 'link', old: undefined, new: { kind: 'symlink', target: '../x' } },
      ],
      betaChanges: [
        { path: '', old: { kind: 'phantom-directory', contents: children }, new: { kind: 'problematic', problem: 'permission denied' } },
        { path: 'u', old: { kind: 'untracked' }, new: file(0x01) },
      ],
    };
    expect(syncSessionToJson(state({ conflicts: [conflict] }))['conflicts']).toMatchInlineSnapshot(`
      [
        {
          "alphaChanges": [
            {
              "new": {
                "digest": "abff",
                "executable": true,
                "kind": "file",
              },
              "old": {
                "contents": null,
                "kind": "directory",
              },
              "path": "",
            },
            {
              "new": {
                "kind": "symlink",
                "target": "../x",
              },
              "old": null,
              "path": "link",
            },
          ],
          "betaChanges": [
            {
              "new": {
                "kind": "problematic",
                "problem": "permission denied",
              },
              "old": {
                "kind": "phantom-directory",
              },
              "path": "",
            },
            {
              "new": {
                "digest": "01ff",
                "kind": "file",
              },
              "old": {
                "kind": "untracked",
              },
              "path": "u",
            },
          ],
          "root": "",
        },
      ]
    `);
  });

  it('includes connected endpoint details, problems and staging progress', () => {
    const problems = (prefix: string, count: number): Problem[] =>
      Array.from({ length: count }, (_, i) => ({ path: `${prefix}${String.fromCharCode(108 - i)}`, error: 'failed' }));
    const alpha: EndpointState = {
      connected: true, scanned: false, directories: 0, files: 2, symbolicLinks: 1, totalFileSize: 0,
      scanProblems: problems('s', 2), excludedScanProblems: 0, transitionProblems: [], excludedTransitionProblems: 0,
      stagingProgress: { path: 'big.bin', receivedSize: 10, expectedSize: 100, receivedFiles: 1, expectedFiles: 3, totalReceivedSize: 4096 },
    };
    const beta: EndpointState = { ...disconnected, connected: true, scanned: true, transitionProblems: problems('t', 11), excludedTransitionProblems: 1 };
    const json = syncSessionToJson(state({ alpha, beta }));
    expect(JSON.stringify(json['alpha'])).toMatchInlineSnapshot(`"{"protocol":"local","path":"/a","ignore":{},"symlink":{},"watch":{},"permissions":{},"compression":{},"connected":true,"scanned":false,"files":2,"symbolicLinks":1,"scanProblems":[{"path":"sk","error":"failed"},{"path":"sl","error":"failed"}],"stagingProgress":{"path":"big.bin","receivedSize":10,"expectedSize":100,"receivedFiles":1,"expectedFiles":3,"totalReceivedSize":4096}}"`);
    const betaJson = json['beta'] as Record<string, unknown>;
    expect((betaJson['transitionProblems'] as Problem[]).map((problem) => problem.path)).toEqual(
      ['tb', 'tc', 'td', 'te', 'tf', 'tg', 'th', 'ti', 'tj', 'tk'],
    );
    expect(betaJson['excludedTransitionProblems']).toBe(2);
    expect(betaJson).not.toHaveProperty('scanProblems');
    expect(betaJson).not.toHaveProperty('files');
  });

  it('trims creation time fractions and keeps ssh ports', () => {
    const json = syncSessionToJson(state({}, {
      createdAt: '2026-04-22T11:39:53.000Z',
      beta: { kind: 'sync', protocol: 'ssh', user: 'u', host: 'h', port: 2222, path: '~/x' },
    }));
    expect(json['creationTime']).toBe('2026-04-22T11:39:53Z');
    expect(json['beta']).toEqual({
      protocol: 'ssh', user: 'u', host: 'h', port: 2222, path: '~/x',
      ignore: {}, symlink: {}, watch: {}, permissions: {}, compression: {}, connected: false,
    });
    expect(syncSessionToJson(state())['creationTime']).toBe('2026-04-22T11:39:53.12Z');
  });
});

describe('configurationToJson', () => {
  it('is just the five objects for an untouched configuration', () => {
    expect(configurationToJson(emptySyncConfiguration())).toEqual({ ignore: {}, symlink: {}, watch: {}, permissions: {}, compression: {} });
  });

  it('prints every set key in order, modes as octal strings and vcs as a boolean', () => {
    const full: SyncConfiguration = {
      mode: 'one-way-replica', hash: 'sha256', maxEntryCount: 500, maxStagingFileSize: 1_000_000,
      probeMode: 'assume', scanMode: 'full', stageMode: 'neighboring',
      ignore: { syntax: 'docker', paths: ['*.log', 'node_modules'], vcs: false },
      symlink: { mode: 'posix-raw' },
      watch: { mode: 'force-poll', pollingInterval: 5 },
      permissions: { mode: 'manual', defaultFileMode: 0o644, defaultDirectoryMode: 0o755, defaultOwner: 'id:1000', defaultGroup: 'staff' },
      compression: { algorithm: 'zstandard' },
    };
    expect(JSON.stringify(configurationToJson(full))).toMatchInlineSnapshot(`"{"mode":"one-way-replica","hash":"sha256","maxEntryCount":500,"maxStagingFileSize":1000000,"probeMode":"assume","scanMode":"full","stageMode":"neighboring","ignore":{"syntax":"docker","paths":["*.log","node_modules"],"vcs":false},"symlink":{"mode":"posix-raw"},"watch":{"mode":"force-poll","pollingInterval":5},"permissions":{"mode":"manual","defaultFileMode":"0644","defaultDirectoryMode":"0755","defaultOwner":"id:1000","defaultGroup":"staff"},"compression":{"algorithm":"zstandard"}}"`);
  });

  it('omits zero numbers, empty strings and empty ignore lists', () => {
    const zeros: SyncConfiguration = {
      ...emptySyncConfiguration(), maxEntryCount: 0, maxStagingFileSize: 0,
      ignore: { paths: [] }, watch: { pollingInterval: 0 }, permissions: { defaultFileMode: 0, defaultOwner: '' },
    };
    expect(configurationToJson(zeros)).toEqual({ ignore: {}, symlink: {}, watch: {}, permissions: {}, compression: {} });
  });
});

describe('forwardSessionToJson', () => {
  const forward = (paused: boolean): ForwardSessionState => ({
    session: {
      id: 'fwrd_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL', version: 1, name: 'db', labels: {}, paused,
      source: { kind: 'forward', protocol: 'local', path: 'tcp:localhost:5432' },
      destination: { kind: 'forward', protocol: 'docker', host: 'db', path: 'tcp:localhost:5432', environment: {} },
      configuration: { socket: { overwriteMode: 'overwrite', permissionMode: 0o600 } },
      configurationSource: emptyForwardConfiguration(),
      configurationDestination: { socket: { owner: 'id:0' } },
      createdAt: '2026-04-22T11:39:53.5Z', creatingVersion: '0.1.0',
    },
    status: paused ? 'disconnected' : 'forwarding', lastError: undefined, sourceConnected: !paused, destinationConnected: !paused,
    openConnections: 1, totalConnections: 7, droppedConnections: 0, totalOutboundData: 1024, totalInboundData: 2048,
  });

  it('puts the endpoint under "endpoint" and includes counters when running', () => {
    expect(JSON.stringify(forwardSessionToJson(forward(false)))).toMatchInlineSnapshot(`"{"identifier":"fwrd_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL","version":1,"creationTime":"2026-04-22T11:39:53.5Z","creatingVersion":"0.1.0","source":{"protocol":"local","endpoint":"tcp:localhost:5432","socket":{},"connected":true},"destination":{"protocol":"docker","host":"db","endpoint":"tcp:localhost:5432","socket":{"owner":"id:0"},"connected":true},"socket":{"overwriteMode":"overwrite","permissionMode":"0600"},"name":"db","paused":false,"status":"forwarding","openConnections":1,"totalConnections":7,"totalOutboundData":1024,"totalInboundData":2048,"droppedConnections":0}"`);
  });

  it('omits counters and lastError when paused', () => {
    const json = forwardSessionToJson({ ...forward(true), lastError: 'x' });
    expect(Object.keys(json)).toEqual(
      ['identifier', 'version', 'creationTime', 'creatingVersion', 'source', 'destination', 'socket', 'name', 'paused', 'status'],
    );
    expect(json['source']).toEqual({ protocol: 'local', endpoint: 'tcp:localhost:5432', socket: {}, connected: false });
  });
});
