import type { EndpointUrl } from '../model/url.js';
import type { CliContext } from './context.js';

/**
 * Which of `urls` reach their endpoint over a link that never leaves this machine (for the
 * `Compression: Default (...)` line), resolved as the daemon's transports resolve them. Loaded
 * on demand: only `-l` listings need the ssh/docker configuration readers.
 */
export async function localLinks(urls: Iterable<EndpointUrl>, context: Pick<CliContext, 'home' | 'env'>): Promise<(url: EndpointUrl) => boolean> {
  const { localLinkLookup } = await import('../agent/transport/local-link.js');
  return localLinkLookup(urls, { home: context.home, env: context.env });
}
