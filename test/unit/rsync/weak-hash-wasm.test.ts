import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { WASM_MODULE, weakHashModuleText } from '../../../scripts/wasm-module.js';

describe('weak-hash-wasm.ts', () => {
  it('is what scripts/gen-wasm.ts makes of weak-hash.wat (run `npm run gen:wasm` after editing it)', async () => {
    expect(await readFile(WASM_MODULE, 'utf8')).toBe(await weakHashModuleText());
  });
});
