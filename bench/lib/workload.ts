/**
 * The referee's deterministic workload (../shared/bench/gen-workload.mjs, run as a child: it
 * has no exports), so project figures and referee figures are measured on the same tree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { REPOSITORY_ROOT } from './mutagen.js';
import { check, run } from './proc.js';

export const DEFAULT_GENERATOR = path.resolve(REPOSITORY_ROOT, '../shared/bench/gen-workload.mjs');

const treeSummary = z.object({
  kind: z.literal('tree'),
  dir: z.string(),
  seed: z.string(),
  files: z.number(),
  dirs: z.number(),
  symlinks: z.number(),
  executables: z.number(),
  bytes: z.number(),
  sample_file: z.string(),
  seconds: z.number(),
});
export type TreeSummary = z.infer<typeof treeSummary>;

/** Generates the tree (seed `bench`, the referee's sizes) into `out`, which must not exist or be empty. */
export async function generateTree(generator: string, out: string, files: number, signal: AbortSignal): Promise<TreeSummary> {
  const result = check(await run([process.execPath, generator, 'tree', '--out', out, '--files', String(files), '--json'], { signal }));
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return treeSummary.parse(JSON.parse(line));
}

/**
 * The small-change edit of the referee (run.mjs smallEdit): the original sample file plus a
 * growing marker line, so size and content change every time. Returns the bytes written.
 */
export class SmallEdit {
  private counter = 0;

  private constructor(readonly file: string, private readonly original: Buffer) {}

  static async open(root: string, relative: string): Promise<SmallEdit> {
    const file = path.join(root, relative);
    return new SmallEdit(file, await readFile(file));
  }

  next(): Buffer {
    this.counter += 1;
    return Buffer.concat([this.original, Buffer.from(`\n// bench edit ${this.counter} ${'#'.repeat(this.counter)}\n`)]);
  }

  async write(content: Buffer): Promise<void> {
    await writeFile(this.file, content);
  }
}
