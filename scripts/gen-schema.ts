import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectJsonSchemaText } from '../src/config/json-schema.js';

// Regenerates schema/mutagen.schema.json from the zod schema (npm run gen:schema). The unit test
// test/unit/config/json-schema.test.ts fails when the checked-in file is stale.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'schema', 'mutagen.schema.json');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, projectJsonSchemaText());
console.log(`wrote ${path.relative(root, target)}`);
