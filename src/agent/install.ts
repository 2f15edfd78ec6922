import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { cancelledError } from '../base/abort.js';
import { errorMessage, MutagenError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { AGENT_BUNDLE_NAME, type AgentBundle } from './bundle.js';
import { describeCandidates, type ProbeResult } from './probe.js';
import { MINIMUM_NODE_TEXT } from './probe-scripts.js';
import { quoteOutput, runCommand } from './remote-command.js';
import { describePlatform, localPlatform, runtimeMismatch, uploadRuntime, type RuntimeArchive } from './runtime.js';
import type { Transport } from './transport/transport.js';

export interface InstallOptions {
  readonly bundle: AgentBundle;
  readonly logger: Logger;
  readonly onStatus?: (message: string) => void;
  /** The local runtime, compressed or not as the remote allows (prepared once, on demand). */
  readonly runtimeArchive: (compress: boolean, signal: AbortSignal) => Promise<RuntimeArchive>;
}

/** `<data>/agents/<version>/agent.mjs` on the remote. */
export function remoteAgentPath(probe: ProbeResult, version: string): string {
  return path.posix.join(probe.dataDirectory, 'agents', version, AGENT_BUNDLE_NAME);
}

// Run by the remote's node (works without a shell). `node -e` puts the arguments at argv[1...].
const MKDIR_SCRIPT = "require('fs').mkdirSync(process.argv[1], { recursive: true, mode: 0o700 })";
const RENAME_SCRIPT = "require('fs').renameSync(process.argv[1], process.argv[2])";

/**
 * The node to run the agent with: the probed one, else this machine's runtime uploaded when the
 * remote can run it, else MUTAGEN_AGENT naming exactly what the remote needs.
 */
export async function ensureRuntime(transport: Transport, probe: ProbeResult, options: InstallOptions, signal: AbortSignal): Promise<string> {
  if (probe.node !== undefined) return probe.node.path;
  const local = localPlatform();
  const mismatch = runtimeMismatch(local, probe);
  if (mismatch !== undefined) {
    throw new MutagenError('MUTAGEN_AGENT', `no usable Node.js runtime on ${transport.description}: found ${describeCandidates(probe.candidates)}`, {
      hint: `Install Node.js ${MINIMUM_NODE_TEXT} or newer for ${describePlatform(probe.platform)} on the remote (on the PATH of a non-login shell, or at /usr/local/bin/node). This machine's runtime cannot be uploaded instead: ${mismatch}.`,
    });
  }
  options.onStatus?.('Preparing Node.js runtime for upload...');
  const archive = await options.runtimeArchive(probe.gzip, signal);
  return await uploadRuntime(transport, probe, { archive, logger: options.logger, ...(options.onStatus === undefined ? {} : { onStatus: options.onStatus }) }, signal);
}

async function runNode(transport: Transport, argv: readonly string[], what: string, signal: AbortSignal): Promise<void> {
  const result = await runCommand(transport, argv, signal);
  if (result.code !== 0) {
    throw new MutagenError('MUTAGEN_AGENT', `unable to ${what} on ${transport.description}: ${quoteOutput(result.stderr.trim() || `exit status ${String(result.code ?? result.signal)}`)}`, {
      hint: 'Check that the remote data directory (MUTAGEN_DATA_DIRECTORY or ~/.mutagen-ts) is writable.',
    });
  }
}

/**
 * Installs the agent bundle as `<data>/agents/<version>/agent.mjs` (copied to a temporary name,
 * then renamed, so a concurrent dial never runs a partial file). Directory and rename go
 * through `node`, so a shell-less remote works too. The handshake's digest check is the final
 * verification.
 */
export async function installAgent(transport: Transport, probe: ProbeResult, node: string, options: InstallOptions, signal: AbortSignal): Promise<string> {
  const target = remoteAgentPath(probe, options.bundle.version);
  const directory = path.posix.dirname(target);
  const temporary = path.posix.join(directory, `.${AGENT_BUNDLE_NAME}-${randomUUID()}`);
  options.onStatus?.('Installing agent...');
  await runNode(transport, [node, '-e', MKDIR_SCRIPT, directory], `create ${directory}`, signal);
  const content = options.bundle.content;
  try {
    await transport.copy({ size: content.length, open: () => Readable.from([content]) }, temporary, { mode: 0o644 }, signal);
  } catch (error) {
    if (signal.aborted) throw cancelledError();
    throw new MutagenError('MUTAGEN_AGENT', `unable to copy the agent to ${transport.description}: ${errorMessage(error)}`, { cause: error });
  }
  await runNode(transport, [node, '-e', RENAME_SCRIPT, temporary, target], `move the agent into ${directory}`, signal);
  options.logger.info('installed agent', { remote: transport.description, path: target, digest: options.bundle.digest.slice(0, 12) });
  return target;
}
