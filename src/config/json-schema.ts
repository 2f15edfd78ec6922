import * as z from 'zod';
import { byteSizeText, octalModeText, projectFileSchema, vcsText } from './schema.js';

type JsonSchemaNode = Record<string, unknown>;

function replace(target: JsonSchemaNode, replacement: JsonSchemaNode): void {
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, replacement);
}

/**
 * `schema/mutagen.schema.json`: the project file schema for editors (yaml-language-server). Fields
 * that Mutagen reads from a scalar's text are widened to what such an editor sees under YAML 1.2:
 * octal modes and byte sizes may be written as integers, `ignore.vcs` as a boolean.
 * Deterministic, so a test can compare it with the checked-in file.
 */
export function projectJsonSchema(): JsonSchemaNode {
  return z.toJSONSchema(projectFileSchema, {
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      const node = jsonSchema as JsonSchemaNode;
      const description = node.description;
      const described = typeof description === 'string' ? { description } : {};
      if (zodSchema === octalModeText) {
        replace(node, { ...described, anyOf: [{ type: 'string', pattern: '^[0-7]+$' }, { type: 'integer', minimum: 0 }] });
      } else if (zodSchema === byteSizeText) {
        replace(node, { ...described, anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }] });
      } else if (zodSchema === vcsText) {
        replace(node, { ...described, anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['true', 'false'] }] });
      }
    },
  });
}

/** The checked-in file's exact text. */
export function projectJsonSchemaText(): string {
  return `${JSON.stringify(projectJsonSchema(), null, 2)}\n`;
}
