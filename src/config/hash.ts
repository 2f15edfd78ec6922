import { createHash } from 'node:crypto';
import type { ForwardSpec, SyncSpec } from '../model/session.js';

/** JSON with object keys sorted at every level, so equal specs always hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The spec hash stored as label `io.mutagen.spec-hash`: the first 32 hex characters (128 bits)
 * of SHA-256 over the canonical JSON of the spec without its labels (labels carry the hash and
 * the project id themselves). Fits a label value (≤ 63 characters). Stable across key order;
 * list order (ignore patterns) is significant, as it is for ignores.
 */
export function specHash(spec: SyncSpec | ForwardSpec): string {
  const { labels: _labels, ...rest } = spec;
  return createHash('sha256').update(`mutagen-ts/spec/1\n${canonicalJson(rest)}`).digest('hex').slice(0, 32);
}
