import path from 'node:path';
import { Command } from 'commander';
import { MutagenError, wrapError } from '../../../base/errors.js';
import { emptySyncConfiguration, mergeSyncConfiguration, type SyncConfiguration } from '../../../model/configuration.js';
import type { SyncSpec } from '../../../model/session.js';
import type { EndpointUrl } from '../../../model/url.js';
import { isLocalPathNested, parseSyncUrl } from '../../../url/parse.js';
import { withDaemon, type CliContext } from '../../context.js';
import { parseIdentity } from '../session-identity.js';
import { addCreateOptions, configurationFromFlags, type CreateFlags } from './create-flags.js';

function parseUrls(urls: readonly string[], context: CliContext): { alpha: EndpointUrl; beta: EndpointUrl } {
  if (urls.length !== 2) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'invalid number of endpoint URLs provided');
  const parse = (text: string, side: 'alpha' | 'beta'): EndpointUrl => {
    try {
      return parseSyncUrl(text, side, { cwd: context.cwd, home: context.home, env: context.env });
    } catch (error) {
      throw wrapError(`unable to parse ${side} URL`, error, 'MUTAGEN_INVALID_URL');
    }
  };
  return { alpha: parse(urls[0] ?? '', 'alpha'), beta: parse(urls[1] ?? '', 'beta') };
}

/** built-in < ~/.mutagen.yml < each -c file < flags (cli spec §5.3). */
async function loadDefaults(flags: CreateFlags, context: CliContext): Promise<SyncConfiguration> {
  // Loaded here only: the YAML parser is not on the path of any other command.
  const { loadConfigurationFile, loadGlobalConfiguration } = await import('../../../config/load.js');
  let merged = emptySyncConfiguration();
  if (flags.globalConfiguration !== false) {
    try {
      merged = mergeSyncConfiguration(merged, loadGlobalConfiguration(context.home).sync);
    } catch (error) {
      throw wrapError('unable to load global configuration', error, 'MUTAGEN_INVALID_CONFIGURATION');
    }
  }
  for (const file of flags.configurationFile ?? []) {
    try {
      merged = mergeSyncConfiguration(merged, loadConfigurationFile(path.resolve(context.cwd, file)).sync);
    } catch (error) {
      throw wrapError(`unable to load configuration file (${file})`, error, 'MUTAGEN_INVALID_CONFIGURATION');
    }
  }
  return merged;
}

/** [ts] Two local roots that are the same path or nested would sync a tree into itself. */
function checkNesting(alpha: EndpointUrl, beta: EndpointUrl): void {
  if (alpha.protocol !== 'local' || beta.protocol !== 'local' || !isLocalPathNested(alpha.path, beta.path)) return;
  const detail = alpha.path === beta.path ? `both are ${alpha.path}` : `${alpha.path} and ${beta.path} are nested`;
  throw new MutagenError('MUTAGEN_INVALID_URL', `alpha and beta must not be the same or nested local paths: ${detail}`, {
    hint: 'Choose two separate directories; a session cannot synchronize a directory with itself or with its own subdirectory.',
  });
}

/** Builds the specification exactly in the order of cli spec §2.1; nothing is contacted. */
export async function buildSyncSpec(urls: readonly string[], flags: CreateFlags, vcs: { ignore: boolean; propagate: boolean }, context: CliContext): Promise<SyncSpec> {
  const { alpha, beta } = parseUrls(urls, context);
  const { name, labels } = parseIdentity(flags);
  const defaults = await loadDefaults(flags, context);
  if (vcs.ignore && vcs.propagate) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'conflicting VCS ignore behavior specified');
  const configuration = configurationFromFlags(flags, vcs.ignore ? true : vcs.propagate ? false : undefined);
  checkNesting(alpha, beta);
  return {
    name,
    labels,
    alpha,
    beta,
    configuration: mergeSyncConfiguration(defaults, configuration.session),
    configurationAlpha: configuration.alpha,
    configurationBeta: configuration.beta,
  };
}

async function create(urls: readonly string[], flags: CreateFlags, vcs: { ignore: boolean; propagate: boolean }, context: CliContext): Promise<void> {
  const spec = await buildSyncSpec(urls, flags, vcs, context);
  const id = await withDaemon(context, async (client) => {
    if (spec.name !== '') {
      const { sessions } = await client.call('sync.list', { selection: {} }, { signal: context.signal });
      const same = sessions.filter((s) => s.session.name === spec.name).map((s) => s.session.id);
      if (same.length > 0) {
        context.output.warn(`another synchronization session is already named "${spec.name}" (${same.join(', ')}); `
          + 'names are not unique, so selecting by this name will address all of them');
      }
    }
    const result = await client.call('sync.create', { spec, paused: flags.paused === true }, {
      signal: context.signal,
      prompter: context.prompter,
      onStatus: (message) => context.output.status(message),
    });
    return result.id;
  });
  context.output.line(`Created session ${id}`);
}

export function syncCreateCommand(context: CliContext): Command {
  const command = new Command('create')
    .description('Create and start a new synchronization session')
    .usage('[flags] <alpha> <beta>')
    .argument('[urls...]');
  addCreateOptions(command);
  const vcs = { ignore: false, propagate: false };
  command.on('option:ignore-vcs', () => { vcs.ignore = true; });
  command.on('option:no-ignore-vcs', () => { vcs.propagate = true; });
  return command.action((urls: string[], flags: CreateFlags) => create(urls, flags, vcs, context));
}
