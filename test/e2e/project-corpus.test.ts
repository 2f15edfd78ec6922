import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shared acceptance runner (../shared/acceptance/harness/run-corpus.mjs): `mutagen project
// validate -f FILE` over real project files; valid ones must pass, bad-* ones must fail naming a line.

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const harness = path.resolve(projectRoot, '..', 'shared', 'acceptance', 'harness', 'run-corpus.mjs');

function runHarness(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harness], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MUTAGEN_BIN: `${process.execPath} ${path.join(projectRoot, 'dist', 'cli.js')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the mutagen.yml acceptance corpus', () => {
  it('validates every real project file and rejects the bad ones with a line number', async () => {
    const { code, output } = await runHarness();
    const summary = /(\d+) passed, (\d+) failed/.exec(output);
    expect(summary, output).not.toBeNull();
    expect(output.split('\n').filter((line) => line.startsWith('FAIL'))).toEqual([]);
    expect(Number(summary?.[2])).toBe(0);
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(23);
    expect(code).toBe(0);
  });
});
