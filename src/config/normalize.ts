import path from 'node:path';
import { isMutagenError, errorMessage } from '../base/errors.js';
import {
  emptyForwardConfiguration, emptySyncConfiguration, mergeForwardConfiguration, mergeSyncConfiguration,
} from '../model/configuration.js';
import type { ForwardConfiguration, IgnoreSyntax, SyncConfiguration } from '../model/configuration.js';
import type { EndpointUrl } from '../model/url.js';
import { validateIgnorePattern } from '../sync/ignore/ignorer.js';
import { isLocalPathNested, parseForwardUrl, parseSyncUrl } from '../url/parse.js';
import { toForwardConfiguration, toSyncConfiguration } from './convert.js';
import type { KeyPath, Problem } from './errors.js';
import { specHash } from './hash.js';
import type { DesiredForwardSession, DesiredProject, DesiredSyncSession, HookPhase, Hooks } from './project.js';
import { forwardSessionFileSchema, projectFileSchema, syncSessionFileSchema } from './schema.js';
import type { ForwardSessionFile, SyncSessionFile } from './schema.js';
import type { PositionIndex } from './yaml-decode.js';

/** Global defaults (`~/.mutagen.yml`), already merged-ready. */
export interface GlobalConfiguration {
  readonly sync: SyncConfiguration;
  readonly forward: ForwardConfiguration;
}

export interface NormalizeContext {
  readonly file: string;
  readonly directory: string;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly global: GlobalConfiguration;
  readonly positions: PositionIndex;
}

const SYNC_URL_FORMS = 'a local path, [user@]host[:port]:path or docker://[user@]container/path';
const FORWARD_URL_FORMS = 'tcp:host:port or unix:path, optionally behind [user@]host[:port]: or docker://[user@]container:';

type Side = 'alpha' | 'beta' | 'source' | 'destination';

function sessionsOf(value: unknown, section: 'sync' | 'forward'): [string, unknown][] {
  if (typeof value !== 'object' || value === null) return [];
  const sessions: unknown = (value as Record<string, unknown>)[section];
  if (typeof sessions !== 'object' || sessions === null || Array.isArray(sessions)) return [];
  return Object.entries(sessions);
}

class Normalizer {
  readonly problems: Problem[] = [];

  constructor(private readonly context: NormalizeContext) {}

  private problem(path: KeyPath, message: string, options: { key?: boolean; hint?: string | undefined } = {}): void {
    const position = options.key === true ? this.context.positions.key(path) : this.context.positions.value(path);
    this.problems.push({ path, position, message, ...(options.hint === undefined ? {} : { hint: options.hint }) });
  }

  /** A local path as written relative to the project folder when it lies inside it. */
  private shown(local: string): string {
    const relative = path.relative(this.context.directory, local);
    if (relative === '') return '.';
    return relative.startsWith('..') || path.isAbsolute(relative) ? local : `./${relative}`;
  }

  /** The session's URL, else the defaults' one; parse problems point at whichever was used. */
  url(section: 'sync' | 'forward', name: string, side: Side, own: string | undefined, fallback: string | undefined): EndpointUrl | undefined {
    const useOwn = own !== undefined && own !== '';
    const text = useOwn ? own : (fallback ?? '');
    const kind = section === 'sync' ? 'synchronization' : 'forwarding';
    if (text === '') {
      this.problem([section, name], `missing ${side} URL (set ${side} in this session or in ${section}.defaults)`, { key: true });
      return undefined;
    }
    const path = [section, useOwn ? name : 'defaults', side];
    const parseContext = { cwd: this.context.directory, home: this.context.home, env: this.context.env };
    try {
      if (side === 'alpha' || side === 'beta') return parseSyncUrl(text, side, parseContext);
      return parseForwardUrl(text, side, parseContext);
    } catch (error) {
      const forms = section === 'sync' ? SYNC_URL_FORMS : FORWARD_URL_FORMS;
      const hint = isMutagenError(error) ? error.hint : undefined;
      this.problem(path, `unable to parse ${kind} ${side} URL (${text}): ${errorMessage(error)} (expected ${forms})`, { hint });
      return undefined;
    }
  }

  ignores(name: string, syntax: IgnoreSyntax, defaults: SyncSessionFile, session: SyncSessionFile): void {
    const sources: [KeyPath, readonly string[] | undefined][] = [
      [['sync', 'defaults', 'ignore', 'paths'], defaults.ignore?.paths],
      [['sync', name, 'ignore', 'paths'], session.ignore?.paths],
    ];
    for (const [path, patterns] of sources) {
      for (const [index, pattern] of (patterns ?? []).entries()) {
        const reason = validateIgnorePattern(syntax, pattern);
        if (reason === undefined) continue;
        this.problem([...path, index], `invalid ignore pattern ${JSON.stringify(pattern)}: ${reason} (for ${syntax} ignore syntax)`);
      }
    }
  }

  sync(name: string, session: SyncSessionFile, defaults: SyncSessionFile): DesiredSyncSession | undefined {
    const alpha = this.url('sync', name, 'alpha', session.alpha, defaults.alpha);
    const beta = this.url('sync', name, 'beta', session.beta, defaults.beta);
    const base = mergeSyncConfiguration(this.context.global.sync, toSyncConfiguration(defaults));
    const configuration = mergeSyncConfiguration(base, toSyncConfiguration(session));
    this.ignores(name, configuration.ignore.syntax ?? 'mutagen', defaults, session);
    if (alpha === undefined || beta === undefined) return undefined;
    if (alpha.protocol === 'local' && beta.protocol === 'local' && isLocalPathNested(alpha.path, beta.path)) {
      const [a, b] = [this.shown(alpha.path), this.shown(beta.path)];
      this.problem(['sync', name], `alpha and beta are the same folder or nested (${a}, ${b}) (expected two separate folders)`, { key: true });
      return undefined;
    }
    const endpoint = (own: SyncSessionFile['configurationAlpha'], fallback: SyncSessionFile['configurationAlpha']): SyncConfiguration =>
      mergeSyncConfiguration(toSyncConfiguration(fallback ?? {}), toSyncConfiguration(own ?? {}));
    const spec = {
      name,
      labels: {},
      alpha,
      beta,
      configuration,
      configurationAlpha: endpoint(session.configurationAlpha, defaults.configurationAlpha),
      configurationBeta: endpoint(session.configurationBeta, defaults.configurationBeta),
    };
    const flushOnCreate = session.flushOnCreate ?? defaults.flushOnCreate ?? false;
    const position = this.context.positions.key(['sync', name]);
    return { key: `sync:${name}`, name, spec, flushOnCreate, specHash: specHash(spec), position };
  }

  forward(name: string, session: ForwardSessionFile, defaults: ForwardSessionFile): DesiredForwardSession | undefined {
    const source = this.url('forward', name, 'source', session.source, defaults.source);
    const destination = this.url('forward', name, 'destination', session.destination, defaults.destination);
    if (source === undefined || destination === undefined) return undefined;
    const base = mergeForwardConfiguration(this.context.global.forward, toForwardConfiguration({ socket: defaults.socket }));
    const endpoint = (own: ForwardSessionFile['configurationSource'], fallback: ForwardSessionFile['configurationSource']): ForwardConfiguration =>
      mergeForwardConfiguration(toForwardConfiguration(fallback ?? {}), toForwardConfiguration(own ?? {}));
    const spec = {
      name,
      labels: {},
      source,
      destination,
      configuration: mergeForwardConfiguration(base, toForwardConfiguration({ socket: session.socket })),
      configurationSource: endpoint(session.configurationSource, defaults.configurationSource),
      configurationDestination: endpoint(session.configurationDestination, defaults.configurationDestination),
    };
    const position = this.context.positions.key(['forward', name]);
    return { key: `forward:${name}`, name, spec, specHash: specHash(spec), position };
  }
}

function section<T>(
  value: unknown,
  name: 'sync' | 'forward',
  schema: { safeParse(input: unknown): { success: true; data: T } | { success: false } },
  build: (sessionName: string, session: T, defaults: T) => unknown,
): void {
  const entries = sessionsOf(value, name);
  const rawDefaults = entries.find(([key]) => key === 'defaults')?.[1] ?? {};
  const defaults = schema.safeParse(rawDefaults);
  if (!defaults.success) return;
  for (const [sessionName, raw] of entries) {
    if (sessionName === 'defaults') continue;
    const session = schema.safeParse(raw);
    if (session.success) build(sessionName, session.data, defaults.data);
  }
}

/**
 * Decoded project file -> DesiredProject (cli spec §5.3, §7.4): layers global < defaults <
 * session, parses URLs against the project folder, validates ignore patterns against the
 * effective syntax and stamps spec hashes. Sessions whose own block or defaults failed the
 * schema are skipped (their problems are already reported); every other problem is returned, so
 * one run reports everything. The project is complete only when `problems` is empty.
 */
export function normalizeProject(value: unknown, context: NormalizeContext): { project: DesiredProject; problems: Problem[] } {
  const normalizer = new Normalizer(context);
  const sync: DesiredSyncSession[] = [];
  const forward: DesiredForwardSession[] = [];
  section(value, 'forward', forwardSessionFileSchema, (name, session, defaults) => {
    const desired = normalizer.forward(name, session, defaults);
    if (desired !== undefined) forward.push(desired);
  });
  section(value, 'sync', syncSessionFileSchema, (name, session, defaults) => {
    const desired = normalizer.sync(name, session, defaults);
    if (desired !== undefined) sync.push(desired);
  });
  const file = projectFileSchema.safeParse(value);
  const data = file.success ? file.data : {};
  const list = (phase: HookPhase): string[] => [...(data[phase] ?? [])];
  const hooks: Hooks = {
    beforeCreate: list('beforeCreate'), afterCreate: list('afterCreate'),
    beforePause: list('beforePause'), afterPause: list('afterPause'),
    beforeResume: list('beforeResume'), afterResume: list('afterResume'),
    beforeTerminate: list('beforeTerminate'), afterTerminate: list('afterTerminate'),
  };
  const project: DesiredProject = {
    file: context.file,
    directory: context.directory,
    sync,
    forward,
    hooks,
    commands: { ...(data.commands ?? {}) },
    warnings: [],
  };
  return { project, problems: normalizer.problems };
}

export function emptyGlobalConfiguration(): GlobalConfiguration {
  return { sync: emptySyncConfiguration(), forward: emptyForwardConfiguration() };
}
