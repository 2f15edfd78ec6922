import path from 'node:path';

/**
 * `parent` joined with `name`, for an absolute `parent` and a `name` made of ordinary components
 * (no empty, `.` or `..` ones: names from a listing, scan-relative paths, staged-file names).
 * What path.join gives for those, without its normalization pass over the whole string (which
 * shows in profiles when it runs for every file of a tree).
 */
export function childPath(parent: string, name: string): string {
  return parent.endsWith(path.sep) ? `${parent}${name}` : `${parent}${path.sep}${name}`;
}
