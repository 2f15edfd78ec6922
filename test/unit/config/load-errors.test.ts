import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../../src/config/load.js';
import { TempProject } from './temp-project.js';

let temp: TempProject;
beforeEach(() => {
  temp = new TempProject();
});
afterEach(() => temp.remove());

describe('project file errors: file:line:col: key.path: what is wrong (what is allowed)', () => {
  it('reports unknown keys at each key, with a suggestion', () => {
    expect(temp.errors('sync:\n  web:\n    alpha: a\n    beta: b\n    ignores: [x]\n    Mode: two-way-safe\nhooks: []\n'))
      .toMatchInlineSnapshot(`
        "mutagen.yml:5:5: sync.web.ignores: unknown key (did you mean ignore? expected one of alpha, beta, flushOnCreate, mode, hash, maxEntryCount, maxStagingFileSize, probeMode, scanMode, stageMode, ignore, symlink, watch, permissions, compression, configurationAlpha, configurationBeta)
        mutagen.yml:6:5: sync.web.Mode: unknown key (did you mean mode? expected one of alpha, beta, flushOnCreate, mode, hash, maxEntryCount, maxStagingFileSize, probeMode, scanMode, stageMode, ignore, symlink, watch, permissions, compression, configurationAlpha, configurationBeta)
        mutagen.yml:7:1: hooks: unknown key (expected one of beforeCreate, afterCreate, beforePause, afterPause, beforeResume, afterResume, beforeTerminate, afterTerminate, commands, sync, forward)"
      `);
  });

  it('reports wrong node kinds', () => {
    const text = [
      'beforeCreate: make',
      'sync:',
      '  web:',
      '    alpha: a',
      '    beta: b',
      '    ignore:',
      '      paths: node_modules',
      '    flushOnCreate: "yes"',
      '    watch: [portable]',
      'forward: [a, b]',
      '',
    ].join('\n');
    expect(temp.errors(text)).toMatchInlineSnapshot(`
      "mutagen.yml:1:15: beforeCreate: expected a list of strings, got "make"; write a list, e.g. ["make"]
      mutagen.yml:7:14: sync.web.ignore.paths: expected a list of strings, got "node_modules"; write a list, e.g. ["node_modules"]
      mutagen.yml:8:20: sync.web.flushOnCreate: expected true or false, got "yes"
      mutagen.yml:9:12: sync.web.watch: expected a mapping with keys mode, pollingInterval, got a list
      mutagen.yml:10:10: forward: expected a mapping of names to entries, got a list"
    `);
  });

  it('reports bad enum values, numbers, sizes, modes and ownership', () => {
    const text = [
      'sync:',
      '  web:',
      '    alpha: a',
      '    beta: b',
      '    mode: two-way',
      '    hash: md5',
      '    maxEntryCount: lots',
      '    maxStagingFileSize: 5 XB',
      '    watch: { mode: poll, pollingInterval: -1 }',
      '    ignore: { syntax: gitignore, vcs: yes }',
      '    permissions:',
      '      defaultFileMode: 0955',
      '      defaultDirectoryMode: 1777',
      '      defaultOwner: "id:0x1"',
      '    compression: { algorithm: gzip }',
      '',
    ].join('\n');
    expect(temp.errors(text)).toMatchInlineSnapshot(`
      "mutagen.yml:5:11: sync.web.mode: unknown synchronization mode specification: two-way (expected two-way-safe, two-way-resolved, one-way-safe, one-way-replica)
      mutagen.yml:6:11: sync.web.hash: unknown hashing algorithm specification: md5 (expected sha1, sha256, xxh128)
      mutagen.yml:7:20: sync.web.maxEntryCount: expected a whole number from 0, got "lots"
      mutagen.yml:8:25: sync.web.maxStagingFileSize: unhandled size name: xb (expected a size such as 1000000, "5MB" or "1 GiB")
      mutagen.yml:9:20: sync.web.watch.mode: unknown watch mode specification: poll (expected portable, force-poll, no-watch)
      mutagen.yml:9:43: sync.web.watch.pollingInterval: invalid value -1 (expected a whole number from 0 to 4294967295)
      mutagen.yml:10:23: sync.web.ignore.syntax: unknown ignore syntax specification: gitignore (expected mutagen, docker)
      mutagen.yml:10:39: sync.web.ignore.vcs: unknown VCS ignore specification: yes (expected true, false)
      mutagen.yml:12:24: sync.web.permissions.defaultFileMode: unable to parse numeric value: invalid octal number: "0955" (expected an octal mode such as 0644, at most 0777)
      mutagen.yml:13:29: sync.web.permissions.defaultDirectoryMode: mode contains disallowed bits (expected an octal mode such as 0644, at most 0777)
      mutagen.yml:14:21: sync.web.permissions.defaultOwner: invalid default owner specification: invalid POSIX user or group identifier: "0x1" (expected a name, id:<number> or sid:<SID>)
      mutagen.yml:15:31: sync.web.compression.algorithm: unknown compression algorithm specification: gzip (expected none, deflate, zstandard)"
    `);
  });

  it('rejects execute bits in portable mode unless manual is set in the same block', () => {
    expect(temp.errors('sync:\n  defaults:\n    permissions: { mode: manual }\n  web:\n    alpha: a\n    beta: b\n    permissions: { defaultFileMode: 755 }\n'))
      .toMatchInlineSnapshot(`"mutagen.yml:7:37: sync.web.permissions.defaultFileMode: executability bits detected in file mode in portable permissions propagation mode (use a mode without execute bits such as 0644, or set permissions.mode: manual in the same block)"`);
    expect(temp.load('sync:\n  web:\n    alpha: a\n    beta: b\n    permissions: { mode: manual, defaultFileMode: 755 }\n').sync[0]?.spec.configuration.permissions)
      .toEqual({ mode: 'manual', defaultFileMode: 0o755 });
  });

  it('rejects session-wide settings in endpoint blocks', () => {
    const text = 'sync:\n  web:\n    alpha: a\n    beta: b\n    configurationAlpha:\n      mode: one-way-safe\n      ignore: { paths: [x], vcs: true }\n      symlink: { mode: ignore }\n      permissions: { mode: manual }\n';
    expect(temp.errors(text)).toMatchInlineSnapshot(`
      "mutagen.yml:6:13: sync.web.configurationAlpha.mode: synchronization mode cannot be specified on an endpoint-specific basis (set it at session level)
      mutagen.yml:7:24: sync.web.configurationAlpha.ignore.paths: ignores cannot be specified on an endpoint-specific basis (set it at session level)
      mutagen.yml:7:34: sync.web.configurationAlpha.ignore.vcs: VCS ignore mode cannot be specified on an endpoint-specific basis (set it at session level)
      mutagen.yml:8:24: sync.web.configurationAlpha.symlink.mode: symbolic link mode cannot be specified on an endpoint-specific basis (set it at session level)
      mutagen.yml:9:28: sync.web.configurationAlpha.permissions.mode: permissions mode cannot be specified on an endpoint-specific basis (set it at session level)"
    `);
  });

  it('reports invalid session names at the key, in both sections', () => {
    const text = 'sync:\n  my_app: { alpha: a, beta: b }\n  1st: { alpha: a, beta: b }\n  a1b2c3d4-e5f6-4711-8899-aabbccddeeff: { alpha: a, beta: b }\nforward:\n  web.api: { source: "tcp::1", destination: "tcp::2" }\n';
    expect(temp.errors(text)).toMatchInlineSnapshot(`
      "mutagen.yml:2:3: sync.my_app: invalid synchronization session name (my_app): invalid name character at index 2: '_' (names start with a letter, then letters, digits or -)
      mutagen.yml:3:3: sync.1st: invalid synchronization session name (1st): name does not start with Unicode letter (names start with a letter, then letters, digits or -)
      mutagen.yml:4:3: sync.a1b2c3d4-e5f6-4711-8899-aabbccddeeff: invalid synchronization session name (a1b2c3d4-e5f6-4711-8899-aabbccddeeff): name must not be a UUID (names start with a letter, then letters, digits or -)
      mutagen.yml:6:3: forward["web.api"]: invalid forwarding session name (web.api): invalid name character at index 3: '.' (names start with a letter, then letters, digits or -)"
    `);
  });

  it('reports duplicate keys and unknown aliases', () => {
    expect(temp.errors('sync:\n  web:\n    alpha: a\n    beta: b\n    alpha: c\n  web:\n    alpha: d\nbeforeCreate: [*setup]\n')).toMatchInlineSnapshot(`
      "mutagen.yml:5:5: sync.web.alpha: duplicate key (already set on line 3)
      mutagen.yml:6:3: sync.web: duplicate key (already set on line 2)
      mutagen.yml:8:16: beforeCreate[0]: unknown alias "*setup" (expected an anchor "&setup" defined earlier in the file)"
    `);
  });

  it('reports unquoted negations read as YAML tags at the tag', () => {
    expect(temp.errors('sync:\n  web:\n    alpha: a\n    beta: b\n    ignore:\n      paths:\n        - build/\n        - !build/keep\n')).toMatchInlineSnapshot(`"mutagen.yml:8:11: sync.web.ignore.paths[1]: "!build/keep" is read as a YAML tag with an empty value (quote values that start with !, e.g. "!build/keep")"`);
  });

  it('reports URL problems where the URL is written', () => {
    const text = [
      'sync:',
      '  defaults:',
      '    beta: "user@host::path"',
      '  web:',
      '    alpha: "docker://"',
      '  api:',
      '    alpha: ./api',
      '    beta: volume://data',
      '  lonely:',
      '    beta: ./b',
      '  same:',
      '    alpha: ./x',
      '    beta: ./x/y',
      'forward:',
      '  web:',
      '    source: localhost:8080',
      '    destination: tcp:localhost:80',
      '',
    ].join('\n');
    expect(temp.errors(text)).toMatchInlineSnapshot(`
      "mutagen.yml:3:11: sync.defaults.beta: unable to parse synchronization beta URL (user@host::path): invalid port value specified (expected a local path, [user@]host[:port]:path or docker://[user@]container/path)
      mutagen.yml:5:12: sync.web.alpha: unable to parse synchronization alpha URL (docker://): empty container name (expected a local path, [user@]host[:port]:path or docker://[user@]container/path)
      mutagen.yml:8:11: sync.api.beta: unable to parse synchronization beta URL (volume://data): volume:// URLs need Compose integration (mutagen-compose), which mutagen-ts does not support (expected a local path, [user@]host[:port]:path or docker://[user@]container/path)
      mutagen.yml:9:3: sync.lonely: missing alpha URL (set alpha in this session or in sync.defaults)
      mutagen.yml:11:3: sync.same: alpha and beta are the same folder or nested (./x, ./x/y) (expected two separate folders)
      mutagen.yml:16:13: forward.web.source: unable to parse forwarding source URL (localhost:8080): invalid forwarding endpoint URL: invalid protocol: localhost (expected tcp:host:port or unix:path, optionally behind [user@]host[:port]: or docker://[user@]container:)"
    `);
  });

  it('validates ignore patterns against the effective syntax', () => {
    const text = 'sync:\n  defaults:\n    ignore: { paths: ["!"] }\n  web:\n    alpha: a\n    beta: b\n    ignore: { paths: ["", ok, "/"] }\n';
    expect(temp.errors(text)).toMatchInlineSnapshot(`
      "mutagen.yml:3:23: sync.defaults.ignore.paths[0]: invalid ignore pattern "!": negated empty pattern (for mutagen ignore syntax)
      mutagen.yml:7:23: sync.web.ignore.paths[0]: invalid ignore pattern "": empty pattern (for mutagen ignore syntax)
      mutagen.yml:7:31: sync.web.ignore.paths[2]: invalid ignore pattern "/": root pattern (for mutagen ignore syntax)"
    `);
  });

  it('rejects empty, comments-only, non-mapping and syntactically broken files', () => {
    expect(temp.errors('')).toMatchInlineSnapshot(`"mutagen.yml:1:1: the file is empty (expected a mapping with sync, forward, hooks or commands)"`);
    expect(temp.errors('# nothing here\n\n')).toMatchInlineSnapshot(`"mutagen.yml:1:1: the file is empty (expected a mapping with sync, forward, hooks or commands)"`);
    expect(temp.errors('- sync\n')).toMatchInlineSnapshot(`"mutagen.yml:1:1: expected a mapping, got a list"`);
    expect(temp.errors('sync:\n  web:\n    alpha: "a\n')).toMatchInlineSnapshot(`"mutagen.yml:4:1: invalid YAML: missing closing "quote"`);
    expect(temp.errors('sync:\n\tweb: {}\n')).toMatchInlineSnapshot(`"mutagen.yml:2:1: invalid YAML: tabs are not allowed as indentation"`);
  });

  it('reports a missing file as not found, without positions', () => {
    const file = path.join(temp.project, 'mutagen.yml');
    expect(() => loadProject(file, { home: temp.home, env: {}, globalConfiguration: false })).toThrow(
      expect.objectContaining({ code: 'MUTAGEN_NOT_FOUND', message: 'unable to load configuration file: mutagen.yml does not exist' }),
    );
  });
});
