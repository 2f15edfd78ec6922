import path from 'node:path';
import { Command } from 'commander';
import { MutagenError, wrapError } from '../../../base/errors.js';
import { emptyForwardConfiguration, mergeForwardConfiguration, type ForwardConfiguration } from '../../../model/configuration.js';
import type { ForwardSpec } from '../../../model/session.js';
import type { EndpointUrl } from '../../../model/url.js';
import { parseForwardUrl } from '../../../url/parse.js';
import { withDaemon, type CliContext } from '../../context.js';
import { parseIdentity } from '../session-identity.js';
import { addForwardCreateOptions, forwardConfigurationFromFlags, type ForwardCreateFlags } from './create-flags.js';

function parseUrls(urls: readonly string[], context: CliContext): { source: EndpointUrl; destination: EndpointUrl } {
  if (urls.length !== 2) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'invalid number of endpoint URLs provided');
  const parse = (text: string, side: 'source' | 'destination'): EndpointUrl => {
    try {
      return parseForwardUrl(text, side, { cwd: context.cwd, home: context.home, env: context.env });
    } catch (error) {
      throw wrapError(`unable to parse ${side} URL`, error, 'MUTAGEN_INVALID_URL');
    }
  };
  return { source: parse(urls[0] ?? '', 'source'), destination: parse(urls[1] ?? '', 'destination') };
}

/** built-in < ~/.mutagen.yml `forward.defaults` < each -c file's `forward.defaults` (cli spec §5.3). */
async function loadDefaults(flags: ForwardCreateFlags, context: CliContext): Promise<ForwardConfiguration> {
  // Loaded here only: the YAML parser is not on the path of any other command.
  const { loadConfigurationFile, loadGlobalConfiguration } = await import('../../../config/load.js');
  let merged = emptyForwardConfiguration();
  if (flags.globalConfiguration !== false) {
    try {
      merged = mergeForwardConfiguration(merged, loadGlobalConfiguration(context.home).forward);
    } catch (error) {
      throw wrapError('unable to load global configuration', error, 'MUTAGEN_INVALID_CONFIGURATION');
    }
  }
  for (const file of flags.configurationFile ?? []) {
    try {
      merged = mergeForwardConfiguration(merged, loadConfigurationFile(path.resolve(context.cwd, file)).forward);
    } catch (error) {
      throw wrapError(`unable to load configuration file (${file})`, error, 'MUTAGEN_INVALID_CONFIGURATION');
    }
  }
  return merged;
}

/**
 * Builds the specification in the order of cli spec §2.1/§2.5 (URLs, name and labels, defaults
 * files, flags); nothing is contacted. Endpoint overrides come only from the -source and
 * -destination flags.
 */
export async function buildForwardSpec(urls: readonly string[], flags: ForwardCreateFlags, context: CliContext): Promise<ForwardSpec> {
  const { source, destination } = parseUrls(urls, context);
  const { name, labels } = parseIdentity(flags);
  const defaults = await loadDefaults(flags, context);
  const configuration = forwardConfigurationFromFlags(flags);
  return {
    name,
    labels,
    source,
    destination,
    configuration: mergeForwardConfiguration(defaults, configuration.session),
    configurationSource: configuration.source,
    configurationDestination: configuration.destination,
  };
}

async function create(urls: readonly string[], flags: ForwardCreateFlags, context: CliContext): Promise<void> {
  const spec = await buildForwardSpec(urls, flags, context);
  const id = await withDaemon(context, async (client) => {
    if (spec.name !== '') {
      const { sessions } = await client.call('forward.list', { selection: {} }, { signal: context.signal });
      const same = sessions.filter((s) => s.session.name === spec.name).map((s) => s.session.id);
      if (same.length > 0) {
        context.output.warn(`another forwarding session is already named "${spec.name}" (${same.join(', ')}); `
          + 'names are not unique, so selecting by this name will address all of them');
      }
    }
    const result = await client.call('forward.create', { spec, paused: flags.paused === true }, {
      signal: context.signal,
      prompter: context.prompter,
      onStatus: (message) => context.output.status(message),
    });
    return result.id;
  });
  context.output.line(`Created session ${id}`);
}

export function forwardCreateCommand(context: CliContext): Command {
  const command = new Command('create')
    .description('Create and start a new forwarding session')
    .usage('[flags] <source> <destination>')
    .argument('[urls...]');
  addForwardCreateOptions(command);
  return command.action((urls: string[], flags: ForwardCreateFlags) => create(urls, flags, context));
}
