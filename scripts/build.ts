import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

/**
 * Bundles the CLI (which also runs the daemon: `mutagen daemon run`) into dist/cli.js (with
 * lazily loaded chunks), and the agent into ONE file, dist/agent.mjs, for Node.js 18 (it is
 * copied to remotes and run by their node). The agent bundle must stay free of CLI- and
 * daemon-only packages (ARCHITECTURE §2, §3.3 rule 5): the metafile is checked.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FORBIDDEN_IN_AGENT = ['ssh2', 'dockerode', 'listr2', 'commander', 'yaml'] as const;

// ESM bundles of CommonJS dependencies need `require` and `__dirname` in scope.
const ESM_SHIMS = [
  "import { createRequire as __mutagenCreateRequire } from 'node:module';",
  "import { fileURLToPath as __mutagenFileURLToPath } from 'node:url';",
  "import { dirname as __mutagenDirname } from 'node:path';",
  'const require = __mutagenCreateRequire(import.meta.url);',
  'const __filename = __mutagenFileURLToPath(import.meta.url);',
  'const __dirname = __mutagenDirname(__filename);',
].join('\n');

/**
 * ssh2 loads its native cipher add-on with a path relative to its own file
 * (`./crypto/build/Release/sshcrypto.node`), which a bundle moves away from: it then falls back to
 * a cipher object per packet (measured on a forward: a third of the daemon's CPU in cipher set-up
 * and garbage). The add-on is required by its package path instead, so the bundle finds it in
 * node_modules when it was built at install time (and falls back as before when it was not).
 */
const SSH2_NATIVE_CIPHERS: Plugin = {
  name: 'ssh2-native-ciphers',
  setup(context) {
    // esbuild filters are Go regular expressions (no `u` flag).
    context.onResolve({ filter: /^\.\/crypto\/build\/Release\/sshcrypto\.node$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}ssh2${path.sep}`)) return undefined;
      return { path: 'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node', external: true };
    });
  },
};

/**
 * Two patches of ssh2's per-packet work in lib/protocol/crypto.js (the build fails if its source
 * no longer has what they replace):
 * - Padding: each outgoing packet's 4-19 padding bytes came from their own `randomFillSync`
 *   call (a binding call per packet, about 7% of the daemon's CPU on a forward). They are now
 *   taken from a 64 KiB block of `randomFillSync` output, each byte once, refilled when used
 *   up: the same CSPRNG bytes, drawn 3,000 packets at a time.
 * - Packet buffers: `allocPacket` takes its buffer from the SSH packet pool when the process
 *   registered one (src/agent/transport/ssh/packet-pool.ts), else allocates as before.
 */
const SSH2_PADDING_CALL = 'randomFillSync(packet, 5 + payloadLen, padLen);';
const SSH2_PACKET_ALLOCATION = 'const packet = Buffer.allocUnsafe(';
const SSH2_CRYPTO_HELPERS = `
const __mutagenPadding = { pool: Buffer.allocUnsafe(65536), used: 65536 };
function __mutagenFillPadding(packet, offset, length) {
  const pad = __mutagenPadding;
  if (pad.used + length > pad.pool.length) {
    randomFillSync(pad.pool);
    pad.used = 0;
  }
  pad.pool.copy(packet, offset, pad.used, pad.used + length);
  pad.used += length;
}
const __mutagenPacketPoolKey = Symbol.for('mutagen-ts.ssh2-packet-pool');
function __mutagenPacket(size) {
  const pool = globalThis[__mutagenPacketPoolKey];
  return pool === undefined ? Buffer.allocUnsafe(size) : pool.take(size);
}
`;

function replaceAllCounted(source: string, search: string, replacement: string, minimum: number): string {
  const count = source.split(search).length - 1;
  if (count < minimum) throw new Error(`ssh2 crypto.js: expected at least ${minimum} of \`${search}\`, found ${count}`);
  return source.replaceAll(search, replacement);
}

const SSH2_CRYPTO: Plugin = {
  name: 'ssh2-crypto',
  setup(context) {
    context.onLoad({ filter: /[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto\.js$/ }, async (args) => {
      let source = await readFile(args.path, 'utf8');
      source = replaceAllCounted(source, SSH2_PADDING_CALL, '__mutagenFillPadding(packet, 5 + payloadLen, padLen);', 4);
      source = replaceAllCounted(source, SSH2_PACKET_ALLOCATION, 'const packet = __mutagenPacket(', 4);
      return { contents: `${source}\n${SSH2_CRYPTO_HELPERS}`, loader: 'js' };
    });
  },
};

export async function packageVersion(): Promise<string> {
  const manifest: unknown = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
  if (typeof manifest !== 'object' || manifest === null || !('version' in manifest) || typeof manifest.version !== 'string') {
    throw new Error('package.json has no version');
  }
  return manifest.version;
}

function options(entry: string, outfile: string, version: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: { [path.basename(outfile, '.js')]: path.join(root, entry) },
    outdir: path.join(root, path.dirname(outfile)),
    // Dynamic imports become chunks loaded on demand (the daemon engine is not on the CLI's path).
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'bundle',
    // ssh2's optional native add-ons (loaded inside try/catch, with JS fallbacks) stay out.
    external: ['*.node', 'cpu-features'],
    plugins: [SSH2_NATIVE_CIPHERS, SSH2_CRYPTO],
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    banner: { js: `#!/usr/bin/env node\n${ESM_SHIMS}` },
    define: { __MUTAGEN_VERSION__: JSON.stringify(version) },
  };
}

/** One self-contained ESM file: no chunks (it is installed alone), no source map, Node 18 syntax. */
function agentOptions(outfile: string, version: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: [path.join(root, 'src/agent/main.ts')],
    outfile,
    bundle: true,
    splitting: false,
    format: 'esm',
    platform: 'node',
    target: 'node18',
    packages: 'bundle',
    // ssh2's optional native add-ons (loaded inside try/catch, with JS fallbacks) stay out.
    external: ['*.node', 'cpu-features'],
    metafile: true,
    logLevel: 'warning',
    banner: { js: `#!/usr/bin/env node\n${ESM_SHIMS}` },
    define: { __MUTAGEN_VERSION__: JSON.stringify(version) },
  };
}

/**
 * Builds the agent bundle to `outfile` (default dist/agent.mjs) and checks its purity. Tests
 * call this with a temporary outfile (and may pass another version).
 */
export async function buildAgent(options: { readonly outfile?: string; readonly version?: string } = {}): Promise<string> {
  const outfile = options.outfile ?? path.join(root, 'dist/agent.mjs');
  const result = await build(agentOptions(outfile, options.version ?? (await packageVersion())));
  checkAgentPurity(result.metafile);
  return outfile;
}

/** Packages (by node_modules folder) that ended up in a bundle. */
export function bundledPackages(metafile: Metafile): Set<string> {
  const found = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1] !== undefined) found.add(match[1]);
  }
  return found;
}

/** Fails when the agent bundle pulled in a package it must never carry. */
export function checkAgentPurity(metafile: Metafile): void {
  const packages = bundledPackages(metafile);
  const offending = FORBIDDEN_IN_AGENT.filter((name) => packages.has(name));
  if (offending.length > 0) {
    throw new Error(`dist/agent.mjs must not bundle ${offending.join(', ')} (ARCHITECTURE §3.3 rule 5); check the agent's imports`);
  }
}

async function main(): Promise<void> {
  const version = await packageVersion();
  await rm(path.join(root, 'dist'), { recursive: true, force: true });
  await mkdir(path.join(root, 'dist'), { recursive: true });
  await build(options('src/cli/main.ts', 'dist/cli.js', version));
  await chmod(path.join(root, 'dist/cli.js'), 0o755);
  console.log(`built dist/cli.js (version ${version})`);
  await buildAgent({ version });
  console.log('built dist/agent.mjs');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
