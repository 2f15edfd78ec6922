import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const harness = path.resolve(projectRoot, '..', 'shared', 'acceptance', 'harness', 'run-vectors.mjs');
const vectors = path.resolve(projectRoot, '..', 'shared', 'acceptance', 'public-vectors.json');

/** Runs ../shared/acceptance's vector harness against dist/cli.js (built by `npm test`). */
export function runVectorHarness(extraArgs: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [harness, '--vectors', vectors, '--jobs', '2', ...extraArgs], {
      env: { ...process.env, ...env, MUTAGEN_BIN: `${process.execPath} ${path.join(projectRoot, 'dist', 'cli.js')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Every public vector passed: no FAIL line, `N passed, 0 failed` with N ≥ 107, exit 0. */
export function expectAllVectorsPassed(result: { code: number | null; output: string }): void {
  const summary = /(\d+) passed, (\d+) failed/.exec(result.output);
  expect(summary, result.output).not.toBeNull();
  expect(result.output.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
  expect(Number(summary?.[2])).toBe(0);
  expect(Number(summary?.[1])).toBeGreaterThanOrEqual(107);
  expect(result.code).toBe(0);
}
