import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalJson, specHash } from '../../../src/config/hash.js';
import { projectJsonSchema, projectJsonSchemaText } from '../../../src/config/json-schema.js';
import { loadProject } from '../../../src/config/load.js';
import { emptySyncConfiguration } from '../../../src/model/configuration.js';
import { planProject } from '../../../src/planner/plan-project.js';
import { formatPlan } from '../../../src/planner/plan.js';
import type { SyncSpec } from '../../../src/model/session.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const spec: SyncSpec = {
  name: 'web',
  labels: {},
  alpha: { kind: 'sync', protocol: 'local', path: '/src' },
  beta: { kind: 'sync', protocol: 'docker', host: 'box', path: '/srv', environment: {} },
  configuration: { ...emptySyncConfiguration(), mode: 'two-way-resolved', ignore: { paths: ['a', 'b'] } },
  configurationAlpha: emptySyncConfiguration(),
  configurationBeta: emptySyncConfiguration(),
};

describe('specHash', () => {
  it('is 32 hex characters, ignores labels and key order', () => {
    const hash = specHash(spec);
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
    expect(specHash({ ...spec, labels: { 'io.mutagen.project': 'proj_x', 'io.mutagen.spec-hash': hash } })).toBe(hash);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(spec).reverse()))) as SyncSpec;
    expect(specHash(reordered)).toBe(hash);
  });

  it('changes with any setting, including ignore order', () => {
    const hash = specHash(spec);
    const changed = (configuration: SyncSpec['configuration']): string => specHash({ ...spec, configuration });
    expect(changed({ ...spec.configuration, ignore: { paths: ['b', 'a'] } })).not.toBe(hash);
    expect(changed({ ...spec.configuration, watch: { pollingInterval: 5 } })).not.toBe(hash);
    expect(specHash({ ...spec, beta: { ...spec.beta, environment: { DOCKER_HOST: 'x' } } })).not.toBe(hash);
  });

  it('canonicalJson sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: [{ d: 1, c: undefined, a: 'x' }], a: null })).toBe('{"a":null,"b":[{"a":"x","d":1}]}');
  });
});

describe('schema/mutagen.schema.json', () => {
  it('is up to date with the zod schema (run npm run gen:schema)', () => {
    const checkedIn = fs.readFileSync(path.join(root, 'schema/mutagen.schema.json'), 'utf8');
    expect(checkedIn).toBe(projectJsonSchemaText());
  });

  it('is strict and widens text-read values for YAML 1.2 editors', () => {
    const schema = projectJsonSchema();
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    const sync = (schema.properties as Record<string, { additionalProperties: { properties: Record<string, unknown> } }>).sync;
    const session = sync?.additionalProperties.properties;
    expect(session?.maxStagingFileSize).toMatchObject({ anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }] });
    expect(session?.mode).toMatchObject({ type: 'string', enum: ['two-way-safe', 'two-way-resolved', 'one-way-safe', 'one-way-replica'] });
    expect(session?.ignore).toMatchObject({ properties: { vcs: { anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['true', 'false'] }] } } });
  });
});

describe('examples/mutagen.yml', () => {
  it('points editors at the schema and loads as two local folders with hooks', () => {
    const file = path.join(root, 'examples/mutagen.yml');
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/mutagen.schema.json');
    const project = loadProject(file, { home: '/nonexistent-home', env: {}, globalConfiguration: false });
    expect(project.sync.map((session) => [session.key, session.spec.alpha.path, session.spec.beta.path, session.flushOnCreate])).toEqual([
      ['sync:code', path.join(root, 'examples/alpha'), path.join(root, 'examples/beta'), true],
    ]);
    expect(project.hooks.beforeCreate).toEqual(['mkdir -p alpha beta']);
    expect(project.sync[0]?.spec.configuration.ignore.paths).toEqual(['node_modules/', '*.log', '.DS_Store', '/build/', '*.tmp']);
  });

  it('plans a first start as the dry run shows it', () => {
    const project = loadProject(path.join(root, 'examples/mutagen.yml'), { home: '/nonexistent-home', env: {}, globalConfiguration: false });
    expect(formatPlan(planProject(project, { projectId: 'proj_example', sessions: [] }, { paused: false }))).toMatchInlineSnapshot(`
      "hook beforeCreate: project start
        > mkdir -p alpha beta
      create sync:code: not created yet; flush on create"
    `);
  });
});
