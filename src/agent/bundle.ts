import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, MutagenError } from '../base/errors.js';

declare const __MUTAGEN_VERSION__: string | undefined;

/** Name of the agent bundle next to dist/cli.js and of the installed copy on remotes. */
export const AGENT_BUNDLE_NAME = 'agent.mjs';

function packageVersion(): string {
  const manifest: unknown = createRequire(import.meta.url)('../../package.json');
  if (typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string') return manifest.version;
  throw new MutagenError('MUTAGEN_INTERNAL', 'package.json has no version');
}

/** The version agents must report: injected by the bundler, read from package.json when running from source. */
export function agentVersion(): string {
  return typeof __MUTAGEN_VERSION__ === 'string' ? __MUTAGEN_VERSION__ : packageVersion();
}

/** The agent the daemon installs: its bytes (read once), sha256 digest (hex) and version. */
export interface AgentBundle {
  readonly path: string;
  readonly content: Buffer;
  readonly digest: string;
  readonly version: string;
}

/**
 * Where dist/agent.mjs is: `MUTAGEN_AGENT_BUNDLE` when set (tests), else the first
 * `agent.mjs` or `dist/agent.mjs` found walking up from this module (dist/cli.js and
 * dist/chunks/* find dist/agent.mjs; src/agent/bundle.ts finds the repository's dist/).
 */
export function locateAgentBundle(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env['MUTAGEN_AGENT_BUNDLE'];
  if (configured !== undefined && configured !== '') return path.resolve(configured);
  const looked: string[] = [];
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [path.join(directory, AGENT_BUNDLE_NAME), path.join(directory, 'dist', AGENT_BUNDLE_NAME)]) {
      if (existsSync(candidate)) return candidate;
      looked.push(candidate);
    }
    const parent = path.dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  throw new MutagenError('MUTAGEN_AGENT', `agent bundle ${AGENT_BUNDLE_NAME} not found (looked in ${looked.slice(0, 4).join(', ')}...)`, {
    hint: 'Build it with "npm run build", or point MUTAGEN_AGENT_BUNDLE at dist/agent.mjs.',
  });
}

export function sha256Hex(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Reads the bundle once; callers keep the result (AgentDialer does). */
export async function loadAgentBundle(options: { readonly path?: string; readonly version?: string } = {}): Promise<AgentBundle> {
  const bundlePath = options.path ?? locateAgentBundle();
  let content: Buffer;
  try {
    content = await readFile(bundlePath);
  } catch (error) {
    throw new MutagenError('MUTAGEN_AGENT', `unable to read the agent bundle ${bundlePath}: ${errorMessage(error)}`, { cause: error });
  }
  return { path: bundlePath, content, digest: sha256Hex(content), version: options.version ?? agentVersion() };
}
