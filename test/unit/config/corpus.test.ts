import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../../src/config/errors.js';
import { loadProject } from '../../../src/config/load.js';
import type { DesiredProject } from '../../../src/config/project.js';
import { TempProject } from './temp-project.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.resolve(here, '../../../../shared/acceptance/mutagen-yml-corpus');
const files = fs.readdirSync(corpus).filter((name) => name.endsWith('.yml')).sort();

let temp: TempProject;
beforeEach(() => {
  temp = new TempProject();
});
afterEach(() => temp.remove());

/** Each corpus file as `<tmp>/<name>/mutagen.yml`, loaded the way `project validate -f` would. */
function load(name: string): DesiredProject {
  const file = temp.write(`${name.replace(/\.yml$/, '')}/mutagen.yml`, fs.readFileSync(path.join(corpus, name), 'utf8'));
  return loadProject(file, { home: temp.home, env: {}, globalConfiguration: true });
}

function rejection(name: string): ConfigErrors {
  try {
    load(name);
  } catch (error) {
    if (error instanceof ConfigErrors) return error;
    throw error;
  }
  throw new Error(`${name} was accepted`);
}

/** Sessions per valid file: [sync, forward]. */
const SESSIONS: Record<string, [number, number]> = {
  '01-EcomDev__composed-mutagen-hypernode-elastic.yml': [1, 0],
  '03-ccle__moodle-docker.yml': [1, 0],
  '05-dreamPathsProjekt__mutagen-dev-environment.yml': [1, 2],
  '07-deregenboog__ecd.yml': [8, 0],
  '09-fj0r__nixos.yml': [1, 0],
  '11-dreamPathsProjekt__mutagen-dev-environment-remote-docker.yml': [0, 1],
  '13-cjlapao__qwen3-audio-gb10.yml': [1, 0],
  '15-alikia2x__cvsa.yml': [1, 0],
  '17-EESC-LabRoM__isaaclab-hiveboard.yml': [1, 0],
  '19-Brofian__spawn.yml': [1, 0],
  '21-IBPA__skill-flow.yml': [1, 0],
  '23-gatuno-manga__app.yml': [1, 0],
  '25-chase__lok-wasm.yml': [1, 1],
  '27-jav974__dataflow.yml': [2, 0],
  '29-Synerise__Sylius-Integration-Plugin.yml': [0, 0],
  '31-konstantine-garozashvili__Intra-Big-job.yml': [0, 0],
  '33-bioshazard__rootkitten.yml': [1, 0],
  '35-Yama-Tomo__rails.yml': [1, 0],
  '37-ZoomREI-llc__web-remix.yml': [1, 0],
};

describe('mutagen.yml corpus: valid files', () => {
  const valid = files.filter((name) => !name.startsWith('bad-'));

  it('lists every valid corpus file in the table', () => {
    expect(valid).toEqual(Object.keys(SESSIONS).sort());
  });

  it.each(valid)('loads %s', (name) => {
    const project = load(name);
    expect([project.sync.length, project.forward.length]).toEqual(SESSIONS[name]);
    for (const session of project.sync) expect(session.specHash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reads sizes, octal text modes and endpoint overrides (19)', () => {
    const [session] = load('19-Brofian__spawn.yml').sync;
    expect(session?.spec.configuration).toMatchObject({
      mode: 'two-way-resolved', maxStagingFileSize: 1_000_000_000, symlink: { mode: 'portable' },
      watch: { pollingInterval: 2 }, ignore: { paths: ['/public/media'], vcs: false },
    });
    expect(session?.spec.configurationBeta).toMatchObject({
      stageMode: 'neighboring',
      permissions: { defaultOwner: 'www-data', defaultGroup: 'www-data', defaultFileMode: 0o644, defaultDirectoryMode: 0o755 },
    });
    expect(session?.spec.beta).toMatchObject({ protocol: 'docker', host: 'spawn_fpm_1', path: '/var/www/html' });
  });

  it('resolves relative alpha against the project file folder and reads unquoted 644 as octal (27, 09)', () => {
    const project = load('27-jav974__dataflow.yml');
    expect(project.sync.map((session) => session.spec.alpha.path)).toEqual([temp.root, temp.root]);
    const [nixos] = load('09-fj0r__nixos.yml').sync;
    expect(nixos?.spec.configuration.permissions).toEqual({ defaultFileMode: 0o644, defaultDirectoryMode: 0o755 });
    expect(nixos?.spec.alpha.path).toBe(path.join(temp.home, 'Configuration/nixos'));
    expect(nixos?.spec.beta).toMatchObject({ protocol: 'ssh', host: 'vbox-host', path: '~/Configuration/nixos' });
    expect(nixos?.flushOnCreate).toBe(true);
  });

  it('merges defaults: scalars from defaults, ignores appended, flushOnCreate inherited (03, 13)', () => {
    const [moodle] = load('03-ccle__moodle-docker.yml').sync;
    expect(moodle?.spec.configuration).toMatchObject({ mode: 'two-way-resolved', ignore: { vcs: true, paths: ['node_modules'] } });
    expect(moodle?.flushOnCreate).toBe(true);
    const project = load('03-ccle__moodle-docker.yml');
    expect(project.hooks.beforeCreate).toHaveLength(1);
    expect(Object.keys(project.commands)).toEqual(['logs']);
    const [qwen] = load('13-cjlapao__qwen3-audio-gb10.yml').sync;
    expect(qwen?.spec.configuration.ignore.paths).toEqual(['node_modules', 'dist', 'build', '.venv', 'venv', '.terraform']);
  });

  it('reads forward sessions with socket defaults (05)', () => {
    const project = load('05-dreamPathsProjekt__mutagen-dev-environment.yml');
    expect(project.forward.map((session) => [session.key, session.spec.destination.path, session.spec.configuration.socket])).toEqual([
      ['forward:exposeHttp', 'tcp:localhost:80', { overwriteMode: 'overwrite' }],
      ['forward:remoteDocker', 'unix:/var/run/docker.sock', { overwriteMode: 'overwrite' }],
    ]);
  });
});

describe('mutagen.yml corpus: bad files', () => {
  it('rejects bad-01 (unterminated quotes) at the YAML syntax error', () => {
    expect(rejection('bad-01-aliuosio__mage2.docker.yml').message).toMatchInlineSnapshot(`
      "mutagen.yml:11:31: invalid YAML: missing closing 'quote
      mutagen.yml:23:37: invalid YAML: missing closing 'quote"
    `);
  });

  it('rejects bad-03 (a Compose file) on each unknown top-level key', () => {
    const error = rejection('bad-03-mutagen-io__mutagen-examples-compose.yml');
    expect(error.errors.map((item) => [item.line, item.col, item.keyPath])).toEqual([
      [3, 1, 'volumes'], [9, 1, 'services'], [40, 1, 'x-mutagen'],
    ]);
    expect(error.errors[0]?.problem).toContain('looks like a Docker Compose file');
  });

  it('rejects bad-04 (unquoted **) at the alias, with the quoting hint', () => {
    const error = rejection('bad-04-jenova-marie__infra.yml');
    expect(error.errors.map((item) => `${item.line}:${item.col} ${item.keyPath}`)).toEqual([
      '18:11 sync.defaults.ignore.paths[11]', '19:11 sync.defaults.ignore.paths[12]', '21:11 sync.defaults.ignore.paths[14]',
    ]);
    expect(error.errors[0]?.message).toMatchInlineSnapshot(
      `"mutagen.yml:18:11: sync.defaults.ignore.paths[11]: "**/*.log" is read as a YAML alias, and there is no anchor "&*/*.log" (quote values that start with *, e.g. "**/*.log")"`,
    );
    expect(error.hint).toContain('Quote ignore patterns');
  });

  it('rejects bad-06 (duplicate destination) at the second key', () => {
    expect(rejection('bad-06-dreamPathsProjekt__mutagen-dev-environment-README.yml').message).toMatchInlineSnapshot(
      `"mutagen.yml:10:5: forward.remoteDocker.destination: duplicate key (already set on line 8)"`,
    );
  });

  it.each(files.filter((name) => name.startsWith('bad-')))('rejects %s with positioned errors only', (name) => {
    const error = rejection(name);
    expect(error.errors.length).toBeGreaterThan(0);
    for (const line of error.message.split('\n')) expect(line).toMatch(/^mutagen\.yml:\d+:\d+: /);
  });
});
