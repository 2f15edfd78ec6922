import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../../src/config/errors.js';
import { findProjectFile, loadGlobalConfiguration } from '../../../src/config/load.js';
import { TempProject } from './temp-project.js';

let temp: TempProject;
beforeEach(() => {
  temp = new TempProject();
});
afterEach(() => temp.remove());

const SESSION = 'sync:\n  web:\n    alpha: ./a\n    beta: docker://box/srv\n';

describe('loadProject: decoding like Mutagen (yaml.v2, YAML 1.1, strict)', () => {
  it('takes plain YAML 1.1 booleans for flushOnCreate and the text of vcs', () => {
    const project = temp.load('sync:\n  a: { alpha: ./a, beta: ./b, flushOnCreate: yes, ignore: { vcs: "true" } }\n  b: { alpha: ./c, beta: ./d, flushOnCreate: Off, ignore: { vcs: false } }\n');
    expect(project.sync.map((session) => [session.name, session.flushOnCreate, session.spec.configuration.ignore.vcs])).toEqual([
      ['a', true, true],
      ['b', false, false],
    ]);
  });

  it('reads 644, 0644 and "0644" as the same mode, and integers or unit sizes', () => {
    const text = (mode: string): string => `${SESSION}    permissions: { defaultFileMode: ${mode} }\n    maxStagingFileSize: 1,500 kB\n    maxEntryCount: 0x20\n`;
    const modes = ['644', '0644', '"0644"', "'644'"].map((mode) => temp.load(text(mode)).sync[0]?.spec.configuration);
    for (const configuration of modes) {
      expect(configuration).toMatchObject({ permissions: { defaultFileMode: 0o644 }, maxStagingFileSize: 1_500_000, maxEntryCount: 32 });
    }
    expect(new Set(temp.load(text('644')).sync.map((session) => session.specHash))).toEqual(new Set([temp.load(text('"0644"')).sync[0]?.specHash]));
  });

  it('reads scalars into string fields by their text and never expands variables', () => {
    const project = temp.load('sync:\n  web:\n    alpha: 123\n    beta: ${HOME}/x\n');
    expect(project.sync[0]?.spec.alpha.path).toBe(path.join(temp.project, '123'));
    expect(project.sync[0]?.spec.beta.path).toBe(path.join(temp.project, '${HOME}/x'));
  });

  it('treats null values and zero values as unset', () => {
    const project = temp.load(`${SESSION}    mode: ~\n    maxEntryCount: 0\n    ignore:\n      paths:\n      # all commented out\n    watch: { pollingInterval: 0 }\n    permissions: { defaultFileMode: 0, defaultOwner: "" }\n`);
    expect(project.sync[0]?.spec.configuration).toEqual({ ignore: {}, symlink: {}, watch: {}, permissions: {}, compression: {} });
  });

  it('follows anchors, aliases and << merge keys; explicit keys win', () => {
    const text = [
      'sync:',
      '  defaults:',
      '    ignore: { paths: &common [node_modules, .cache] }',
      '  web: &web',
      '    alpha: ./web',
      '    beta: docker://box/web',
      '    mode: two-way-resolved',
      '  api:',
      '    <<: *web',
      '    alpha: ./api',
      '    ignore: { paths: *common }',
      '',
    ].join('\n');
    const [web, api] = temp.load(text).sync;
    expect(api?.spec.alpha.path).toBe(path.join(temp.project, 'api'));
    expect(api?.spec.beta).toMatchObject({ host: 'box', path: '/web' });
    expect(api?.spec.configuration).toMatchObject({ mode: 'two-way-resolved', ignore: { paths: ['node_modules', '.cache', 'node_modules', '.cache'] } });
    expect(web?.spec.configuration.ignore.paths).toEqual(['node_modules', '.cache']);
  });

  it('reads only the first document, and accepts a BOM, CRLF line ends, tags and block scalars', () => {
    const text = '\uFEFFbeforeCreate:\r\n  - |\r\n    docker compose up -d\r\n    sleep 1\r\ncommands:\r\n  logs: !!str docker compose logs\r\n---\r\nnot: [a, project, file]\r\n';
    const project = temp.load(text);
    expect(project.hooks.beforeCreate).toEqual(['docker compose up -d\nsleep 1\n']);
    expect(project.commands).toEqual({ logs: 'docker compose logs' });
    expect(project.sync).toEqual([]);
  });

  it('keeps sessions in file order and fills every hook list', () => {
    const project = temp.load('afterTerminate: [echo bye]\nsync:\n  zeta: { alpha: ./z, beta: ./y }\n  alpha: { alpha: ./a, beta: ./b }\n');
    expect(project.sync.map((session) => session.key)).toEqual(['sync:zeta', 'sync:alpha']);
    expect(project.hooks).toEqual({
      beforeCreate: [], afterCreate: [], beforePause: [], afterPause: [],
      beforeResume: [], afterResume: [], beforeTerminate: [], afterTerminate: ['echo bye'],
    });
    expect(project.file).toBe(path.join(temp.project, 'mutagen.yml'));
    expect(project.directory).toBe(temp.project);
  });
});

describe('loadProject: defaults and the global file', () => {
  const global = 'sync:\n  defaults:\n    mode: one-way-safe\n    hash: sha256\n    ignore: { paths: [global] }\n    watch: { pollingInterval: 30 }\nforward:\n  defaults:\n    socket: { permissionMode: 600 }\n';
  const project = [
    'sync:',
    '  defaults:',
    '    alpha: ./shared',
    '    flushOnCreate: true',
    '    mode: two-way-resolved',
    '    ignore: { paths: [defaults], vcs: true }',
    '    configurationBeta: { permissions: { defaultOwner: www-data, defaultGroup: www-data } }',
    '  web:',
    '    beta: docker://box/srv',
    '    flushOnCreate: false',
    '    ignore: { paths: [session], vcs: false }',
    '    configurationBeta: { permissions: { defaultOwner: "id:33" }, stageMode: neighboring }',
    'forward:',
    '  defaults: { destination: "tcp:localhost:80" }',
    '  http: { source: "tcp::8080", socket: { overwriteMode: overwrite } }',
    '',
  ].join('\n');

  it('layers global < defaults < session, appending ignores', () => {
    temp.write('home/.mutagen.yml', global);
    const { sync: [web], forward: [http] } = temp.load(project);
    expect(web?.spec.alpha.path).toBe(path.join(temp.project, 'shared'));
    expect(web?.flushOnCreate).toBe(false);
    expect(web?.spec.configuration).toEqual({
      mode: 'two-way-resolved', hash: 'sha256',
      ignore: { paths: ['global', 'defaults', 'session'], vcs: false },
      symlink: {}, watch: { pollingInterval: 30 }, permissions: {}, compression: {},
    });
    expect(web?.spec.configurationBeta).toEqual({
      stageMode: 'neighboring', ignore: {}, symlink: {}, watch: {}, compression: {},
      permissions: { defaultOwner: 'id:33', defaultGroup: 'www-data' },
    });
    expect(http?.spec.destination).toEqual({ kind: 'forward', protocol: 'local', path: 'tcp:localhost:80' });
    expect(http?.spec.configuration).toEqual({ socket: { permissionMode: 0o600, overwriteMode: 'overwrite' } });
  });

  it('skips the global file with globalConfiguration: false', () => {
    temp.write('home/.mutagen.yml', global);
    const [web] = temp.load(project, { globalConfiguration: false }).sync;
    expect(web?.spec.configuration).toMatchObject({ mode: 'two-way-resolved', ignore: { paths: ['defaults', 'session'] } });
    expect(web?.spec.configuration.hash).toBeUndefined();
  });

  it('treats an empty or comments-only global file as no defaults', () => {
    for (const text of ['', '# my defaults\n']) {
      temp.write('home/.mutagen.yml', text);
      expect(loadGlobalConfiguration(temp.home)).toEqual({
        sync: { ignore: {}, symlink: {}, watch: {}, permissions: {}, compression: {} },
        forward: { socket: {} },
      });
    }
  });

  it('reports global file problems as ~/.mutagen.yml positions, together with the project file ones', () => {
    temp.write('home/.mutagen.yml', 'sync:\n  defaults:\n    alpha: ./x\n    mode: fast\n    ignore: { paths: ["!"] }\n');
    expect(temp.errors('sync:\n  web: { alpha: ./a, beta: ./b, mode: slow }\n')).toMatchInlineSnapshot(`
      "mutagen.yml:2:39: sync.web.mode: unknown synchronization mode specification: slow (expected two-way-safe, two-way-resolved, one-way-safe, one-way-replica)
      ~/.mutagen.yml:3:5: sync.defaults.alpha: unknown key (expected one of mode, hash, maxEntryCount, maxStagingFileSize, probeMode, scanMode, stageMode, ignore, symlink, watch, permissions, compression)
      ~/.mutagen.yml:4:11: sync.defaults.mode: unknown synchronization mode specification: fast (expected two-way-safe, two-way-resolved, one-way-safe, one-way-replica)"
    `);
    temp.write('home/.mutagen.yml', 'sync:\n  defaults:\n    ignore: { paths: ["!"] }\n');
    expect(() => loadGlobalConfiguration(temp.home)).toThrow(ConfigErrors);
    expect(temp.errors(SESSION)).toMatchInlineSnapshot(`"~/.mutagen.yml:3:23: sync.defaults.ignore.paths[0]: invalid ignore pattern "!": negated empty pattern (for mutagen ignore syntax)"`);
  });

  it('captures Docker variables from the environment, side-specific ones first', () => {
    const env = { DOCKER_HOST: 'unix:///plain.sock', MUTAGEN_BETA_DOCKER_HOST: 'tcp://beta:2375', DOCKER_CONTEXT: '' };
    const [web] = temp.load(SESSION, { env }).sync;
    expect(web?.spec.beta.environment).toEqual({ DOCKER_HOST: 'tcp://beta:2375', DOCKER_CONTEXT: '' });
  });
});

describe('findProjectFile', () => {
  it('prefers mutagen.yml, falls back to mutagen.yaml, warns when both exist', () => {
    const dir = temp.project;
    expect(findProjectFile(dir)).toEqual({ file: path.join(dir, 'mutagen.yml'), warnings: [] });
    fs.writeFileSync(path.join(dir, 'mutagen.yaml'), SESSION);
    expect(findProjectFile(dir)).toEqual({ file: path.join(dir, 'mutagen.yaml'), warnings: [] });
    fs.writeFileSync(path.join(dir, 'mutagen.yml'), SESSION);
    expect(findProjectFile(dir)).toEqual({
      file: path.join(dir, 'mutagen.yml'),
      warnings: [`both mutagen.yml and mutagen.yaml exist in ${dir}; using mutagen.yml`],
    });
  });

  it('resolves an explicit file against cwd and rejects a directory', () => {
    expect(findProjectFile(temp.root, 'project/dev.yml')).toEqual({ file: path.join(temp.project, 'dev.yml'), warnings: [] });
    expect(() => findProjectFile(temp.root, 'project')).toThrow(expect.objectContaining({ code: 'MUTAGEN_INVALID_ARGUMENT' }));
  });
});
