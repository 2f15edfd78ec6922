import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { root, WASM_MODULE, weakHashModuleText } from './wasm-module.js';

// Regenerates src/sync/rsync/weak-hash-wasm.ts from weak-hash.wat (npm run gen:wasm). The unit
// test test/unit/rsync/weak-hash-wasm.test.ts fails when the checked-in file is stale.
await writeFile(WASM_MODULE, await weakHashModuleText());
console.log(`wrote ${path.relative(root, WASM_MODULE)}`);
