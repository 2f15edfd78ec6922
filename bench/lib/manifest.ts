/**
 * Tree manifests for verification: one line per entry (path, type; files: executable bit, size,
 * SHA-256 of the content; symlinks: target), sorted. The same script runs with the local node
 * and with the container's node, so both sides are described by identical code.
 */
import { check, run } from './proc.js';

/** CommonJS source for `node -e MANIFEST_SCRIPT <root>` (argv[1] is the root). */
export const MANIFEST_SCRIPT = `
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const root = process.argv[1];
const out = [];
function walk(rel) {
  for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
    const r = rel ? rel + '/' + name : name;
    const full = path.join(root, r);
    const s = fs.lstatSync(full);
    if (s.isDirectory()) { out.push(r + '\\td'); walk(r); }
    else if (s.isSymbolicLink()) out.push(r + '\\tl\\t' + fs.readlinkSync(full));
    else if (s.isFile()) out.push(r + '\\tf\\t' + ((s.mode & 0o111) ? 'x' : '-') + '\\t' + s.size + '\\t' +
      crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
    else out.push(r + '\\t?');
  }
}
walk('');
process.stdout.write(out.join('\\n') + '\\n');
`;

/** Lines of the manifest printed by MANIFEST_SCRIPT. */
export function parseManifest(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** The manifest of a local tree. */
export async function localManifest(root: string, signal: AbortSignal): Promise<string[]> {
  return parseManifest(check(await run([process.execPath, '-e', MANIFEST_SCRIPT, root], { signal })).stdout);
}

export interface ManifestComparison {
  readonly identical: boolean;
  readonly entries: number;
  /** Lines only in the expected / only in the actual manifest (first 5 of each). */
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly differences: number;
}

export function compareManifests(expected: readonly string[], actual: readonly string[]): ManifestComparison {
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = expected.filter((line) => !have.has(line));
  const unexpected = actual.filter((line) => !want.has(line));
  return {
    identical: missing.length === 0 && unexpected.length === 0,
    entries: expected.length,
    missing: missing.slice(0, 5),
    unexpected: unexpected.slice(0, 5),
    differences: missing.length + unexpected.length,
  };
}
