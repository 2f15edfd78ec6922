import type { EndpointUrl } from '../../model/url.js';

export interface LinkOptions {
  /** Whose ~/.ssh and ~/.docker (the daemon's HOME: the CLI that starts it passes its own on). */
  readonly home: string;
  /** For `${VAR}` and tokens in the ssh config (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Whether the link to `url` never leaves this machine, decided as the transports decide
 * `Transport.local` (ssh: HostName after ~/.ssh/config, no ProxyJump/ProxyCommand; docker: the
 * engine of the captured environment is a unix socket), without connecting. For display (the
 * `Compression: Default (...)` line); a URL that cannot be resolved counts as not local.
 * A local URL has no link at all: true.
 */
export async function linkIsLocal(url: EndpointUrl, options: LinkOptions): Promise<boolean> {
  try {
    switch (url.protocol) {
      case 'local':
        return true;
      case 'ssh': {
        if (url.host === undefined) return false;
        const { resolveSshConfig, sshLinkIsLocal } = await import('./ssh/config.js');
        const config = await resolveSshConfig(
          { host: url.host, ...(url.user === undefined ? {} : { user: url.user }), ...(url.port === undefined ? {} : { port: url.port }) },
          { home: options.home, ...(options.env === undefined ? {} : { env: options.env }) },
        );
        return sshLinkIsLocal(config);
      }
      case 'docker': {
        const { engineIsLocal, resolveDockerEnvironment } = await import('./docker/environment.js');
        return engineIsLocal((await resolveDockerEnvironment(url.environment ?? {}, { home: options.home })).engine);
      }
    }
  } catch {
    return false;
  }
}

/** What decides a link: everything in the URL but the path. */
function linkKey(url: EndpointUrl): string {
  const environment = Object.entries(url.environment ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([url.protocol, url.user, url.host, url.port, environment]);
}

/** linkIsLocal for every distinct link of `urls` at once, as a lookup (URLs not given: false). */
export async function localLinkLookup(urls: Iterable<EndpointUrl>, options: LinkOptions): Promise<(url: EndpointUrl) => boolean> {
  const unique = new Map<string, EndpointUrl>();
  for (const url of urls) if (url.protocol !== 'local') unique.set(linkKey(url), url);
  const local = new Set<string>();
  await Promise.all([...unique].map(async ([key, url]) => {
    if (await linkIsLocal(url, options)) local.add(key);
  }));
  return (url) => local.has(linkKey(url));
}
