import { describe, expect, it } from 'vitest';
import { createAgentConnector, wireCompression } from '../../../src/agent/connector.js';
import type { AgentDialer, DialOptions } from '../../../src/agent/dial.js';
import type { Transport } from '../../../src/agent/transport/transport.js';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import { describeCompression } from '../../../src/cli/render/describe.js';
import { formatSyncList } from '../../../src/cli/render/sync-list.js';
import {
  defaultCompression, emptySyncConfiguration, resolveEndpointConfiguration, type CompressionAlgorithm, type SyncConfiguration,
} from '../../../src/model/configuration.js';
import { syncSessionToJson } from '../../../src/model/json.js';
import type { EndpointState, SyncSessionState } from '../../../src/model/session.js';
import type { EndpointUrl } from '../../../src/model/url.js';
import { encodeConnect, parseConnect } from '../../../src/sync/remote/messages.js';

function withCompression(algorithm: CompressionAlgorithm | undefined): SyncConfiguration {
  return { ...emptySyncConfiguration(), compression: algorithm === undefined ? {} : { algorithm } };
}

describe('the resolved configuration keeps an unset compression unset', () => {
  it('undefined when nothing sets it, the configured algorithm otherwise (endpoint over session)', () => {
    expect(resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration()).compression).toBeUndefined();
    expect(resolveEndpointConfiguration(withCompression('deflate'), emptySyncConfiguration()).compression).toBe('deflate');
    expect(resolveEndpointConfiguration(withCompression('deflate'), withCompression('none')).compression).toBe('none');
  });

  it('travels to the agent as such (connect request round trip)', () => {
    for (const algorithm of [undefined, 'none', 'deflate'] as const) {
      const configuration = resolveEndpointConfiguration(withCompression(algorithm), emptySyncConfiguration());
      const params = { sessionId: 'sync_abc', side: 'beta' as const, root: '~/p', configuration, readOnly: false };
      expect(parseConnect(encodeConnect(params)).configuration.compression).toBe(algorithm);
    }
  });
});

describe('wireCompression: explicit settings win, the default depends on the link', () => {
  it.each([
    [undefined, true, 'none'],
    [undefined, false, 'deflate'],
    ['deflate', true, 'deflate'],
    ['deflate', false, 'deflate'],
    ['none', true, 'none'],
    ['none', false, 'none'],
    ['zstandard', true, 'deflate'],
  ] as const)('configured %s, local link %s → %s', (configured, local, expected) => {
    expect(wireCompression(configured, local)).toBe(expected);
  });

  it('defaultCompression is none on a local link, deflate (the spec default) elsewhere', () => {
    expect(defaultCompression(true)).toBe('none');
    expect(defaultCompression(false)).toBe('deflate');
  });
});

describe('createAgentConnector asks the agent for the compression of the configuration and the link', () => {
  /** The compression the connector dials with, for a transport whose `local` is `local`. */
  async function dialedWith(configured: CompressionAlgorithm | undefined, local: boolean | undefined): Promise<DialOptions['compression']> {
    let seen: DialOptions | undefined;
    let closed = false;
    const transport: Transport = {
      description: 'fake',
      ...(local === undefined ? {} : { local }),
      start: () => Promise.reject(new Error('not used')),
      copy: () => Promise.reject(new Error('not used')),
      close: () => { closed = true; return Promise.resolve(); },
    };
    const dialer = {
      dial: (_transport: Transport, options: DialOptions) => {
        seen = options;
        return Promise.reject(new MutagenError('MUTAGEN_TRANSPORT', 'stop here'));
      },
    } as unknown as AgentDialer;
    const connector = createAgentConnector({ transportFor: () => Promise.resolve(transport), dialer, logger: silentLogger });
    const url: EndpointUrl = { kind: 'sync', protocol: 'ssh', host: 'h', path: '~/p' };
    await expect(connector({
      url, sessionId: 'sync_x', side: 'beta', readOnly: false, logger: silentLogger,
      configuration: resolveEndpointConfiguration(withCompression(configured), emptySyncConfiguration()),
    }, AbortSignal.timeout(5000))).rejects.toThrow('stop here');
    expect(closed).toBe(true);
    return seen?.compression;
  }

  it('unset: none on a local link, deflate on a remote one or a transport that does not say', async () => {
    expect(await dialedWith(undefined, true)).toBe('none');
    expect(await dialedWith(undefined, false)).toBe('deflate');
    expect(await dialedWith(undefined, undefined)).toBe('deflate');
  });

  it('explicit: deflate stays deflate on a local link; none stays none', async () => {
    expect(await dialedWith('deflate', true)).toBe('deflate');
    expect(await dialedWith('none', false)).toBe('none');
    expect(await dialedWith('none', true)).toBe('none');
  });
});

describe('sync list -l tells which compression is used', () => {
  const disconnected: EndpointState = {
    connected: false, scanned: false, directories: 0, files: 0, symbolicLinks: 0, totalFileSize: 0,
    scanProblems: [], excludedScanProblems: 0, transitionProblems: [], excludedTransitionProblems: 0, stagingProgress: undefined,
  };
  const beta: EndpointUrl = { kind: 'sync', protocol: 'ssh', host: 'dev', path: '~/p' };

  function state(configuration: SyncConfiguration): SyncSessionState {
    return {
      session: {
        id: 'sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL', version: 1, name: '', labels: {}, paused: false,
        alpha: { kind: 'sync', protocol: 'local', path: '/a' }, beta,
        configuration, configurationAlpha: emptySyncConfiguration(), configurationBeta: emptySyncConfiguration(),
        createdAt: '2026-04-22T11:39:53.120Z', creatingVersion: '0.1.0',
      },
      status: 'watching', lastError: undefined, successfulCycles: 0, conflicts: [], excludedConflicts: 0, alpha: disconnected, beta: disconnected,
    };
  }
  const colors = { red: (t: string) => t, yellow: (t: string) => t };
  const compressionLines = (text: string): string[] => text.split('\n').filter((line) => line.includes('Compression:')).map((line) => line.trim());

  it('Default (None: local link) on a local link, Default (DEFLATE) elsewhere, the setting when set', () => {
    const local = (url: EndpointUrl): boolean => url.host === 'dev';
    expect(compressionLines(formatSyncList([state(emptySyncConfiguration())], { long: true, colors, localLink: local }))).toEqual(['Compression: Default (None: local link)']);
    expect(compressionLines(formatSyncList([state(emptySyncConfiguration())], { long: true, colors, localLink: () => false }))).toEqual(['Compression: Default (DEFLATE)']);
    expect(compressionLines(formatSyncList([state(emptySyncConfiguration())], { long: true, colors }))).toEqual(['Compression: Default (DEFLATE)']);
    expect(compressionLines(formatSyncList([state(withCompression('deflate'))], { long: true, colors, localLink: local }))).toEqual(['Compression: DEFLATE']);
    expect(compressionLines(formatSyncList([state(withCompression('none'))], { long: true, colors }))).toEqual(['Compression: None']);
  });

  it('describeCompression', () => {
    expect(describeCompression(undefined, true)).toBe('Default (None: local link)');
    expect(describeCompression(undefined, false)).toBe('Default (DEFLATE)');
    expect(describeCompression('zstandard', true)).toBe('Zstandard');
  });

  it('JSON keeps the configuration omit-if-unset: no compression field appears for a local link', () => {
    const json = syncSessionToJson(state(emptySyncConfiguration()));
    expect(json['compression']).toEqual({});
    expect((json['beta'] as Record<string, unknown>)['compression']).toEqual({});
  });
});
