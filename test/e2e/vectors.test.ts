import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const harness = path.resolve(projectRoot, '..', 'shared', 'acceptance', 'harness', 'run-vectors.mjs');
const vectors = path.resolve(projectRoot, '..', 'shared', 'acceptance', 'public-vectors.json');

function runHarness(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [harness, '--vectors', vectors, '--jobs', '2'], {
      env: { ...process.env, MUTAGEN_BIN: `${process.execPath} ${path.join(projectRoot, 'dist', 'cli.js')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('public reconciliation vectors through the CLI', () => {
  it('all pass end to end on local directories', async () => {
    const { code, output } = await runHarness();
    const summary = /(\d+) passed, (\d+) failed/.exec(output);
    expect(summary, output).not.toBeNull();
    expect(output.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(Number(summary?.[2])).toBe(0);
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(107);
    expect(code).toBe(0);
  });
});
