import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What a `mutagen sync …` invocation of the built CLI loads: every CLI call pays for compiling
// and evaluating its module graph, so the commands run most often (flush, list) must not drag in
// the YAML parser, listr2, the project runtime or zod's locales. Reads dist/ (npm run build).

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');

/** Files reached from `file` through static `import … from "./…"` statements of esbuild's output. */
async function staticClosure(file: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = await readFile(file, 'utf8');
  for (const match of source.matchAll(/^import\s[^;]*?from\s*"(\.[^"]+)";?$|^import\s*"(\.[^"]+)";?$/gm)) {
    const target = match[1] ?? match[2];
    if (target !== undefined) await staticClosure(path.resolve(path.dirname(file), target), seen);
  }
  return seen;
}

/** The module paths esbuild names in its `// node_modules/…` and `// src/…` comments. */
async function bundledModules(files: Iterable<string>): Promise<string[]> {
  const modules = new Set<string>();
  for (const file of files) {
    for (const match of (await readFile(file, 'utf8')).matchAll(/^\/\/ ((?:node_modules|src)\/\S+)$/gm)) modules.add(match[1] ?? '');
  }
  return [...modules].sort();
}

describe('start-up module graph of the built CLI', () => {
  it('a sync command loads commander, zod without other locales, and no project machinery', async () => {
    const entry = path.join(dist, 'cli.js');
    const syncChunk = /import\("(\.\/chunks\/sync-[^"]+)"\)/.exec(await readFile(entry, 'utf8'))?.[1];
    expect(syncChunk, 'dist/cli.js loads the sync commands on demand').toBeDefined();
    const files = await staticClosure(entry);
    await staticClosure(path.join(dist, syncChunk ?? ''), files);
    const modules = await bundledModules(files);
    const packages = new Set(modules.filter((m) => m.startsWith('node_modules/')).map((m) => m.split('/')[1]));
    expect([...packages].sort()).toEqual(['commander', 'zod']);
    expect(modules.filter((m) => m.includes('/locales/'))).toEqual(['node_modules/zod/v4/locales/en.js']);
    const areas = new Set(modules.filter((m) => m.startsWith('src/')).map((m) => m.split('/')[1]));
    for (const heavy of ['config', 'planner', 'runtime', 'sync', 'agent', 'forward', 'wire']) expect(areas.has(heavy), heavy).toBe(false);
  });

  it('the top-level help still lists every command', () => {
    const result = spawnSync(process.execPath, [path.join(dist, 'cli.js'), '--help'], { encoding: 'utf8', env: { ...process.env, MUTAGEN_DISABLE_AUTOSTART: '1' } });
    expect(result.status).toBe(0);
    const commands = [...result.stdout.matchAll(/^ {2}(\w+)\s/gm)].map((m) => m[1]);
    expect(commands).toEqual(expect.arrayContaining(['sync', 'forward', 'project', 'daemon', 'version']));
  });
});
