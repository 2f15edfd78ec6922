import * as z from 'zod';
import { validateName } from '../model/name.js';
import type { KeyPath, Problem } from './errors.js';
import type { PositionIndex } from './yaml-decode.js';

type Issue = z.core.$ZodIssue;

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap();
  return current;
}

/** The (unwrapped) schema that describes the value at `path`, if the schema reaches there. */
export function schemaAt(root: z.ZodType, path: KeyPath): unknown {
  let current = unwrap(root);
  for (const segment of path) {
    if (current instanceof z.ZodObject && typeof segment === 'string') current = unwrap((current.shape as Record<string, unknown>)[segment]);
    else if (current instanceof z.ZodRecord) current = unwrap(current.valueType);
    else if (current instanceof z.ZodArray) current = unwrap(current.element);
    else return undefined;
  }
  return current;
}

function objectKeys(schema: unknown): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** "What is allowed" for a schema, in words. */
export function describeExpected(schema: unknown): string {
  if (schema instanceof z.ZodBoolean) return 'true or false';
  if (schema instanceof z.ZodNumber) {
    const max = schema.maxValue === null || schema.maxValue >= Number.MAX_SAFE_INTEGER ? '' : ` to ${schema.maxValue}`;
    return `a whole number from ${schema.minValue ?? 0}${max}`;
  }
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.map(String).join(', ')}`;
  if (schema instanceof z.ZodString) return 'a string';
  if (schema instanceof z.ZodArray) return `a list of ${describeExpected(unwrap(schema.element)).replace(/^an? /, '')}s`;
  if (schema instanceof z.ZodRecord) return 'a mapping of names to entries';
  if (schema instanceof z.ZodObject) {
    const keys = objectKeys(schema);
    return keys.length <= 8 ? `a mapping with keys ${keys.join(', ')}` : 'a mapping';
  }
  return 'a different value';
}

function describeReceived(input: unknown): string {
  if (input === undefined || input === null) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return JSON.stringify(input);
  return typeof input === 'number' || typeof input === 'boolean' ? String(input) : 'an unexpected value';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

function closest(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = allowed.find((candidate) => candidate.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = key.length > 4 ? 3 : 2;
  for (const candidate of allowed) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

const COMPOSE_KEYS = new Set(['services', 'volumes', 'networks', 'version', 'x-mutagen', 'configs', 'secrets']);

function unknownKeyMessage(key: string, parent: KeyPath, allowed: readonly string[]): string {
  const suggestion = closest(key, allowed);
  const did = suggestion === undefined ? '' : `did you mean ${suggestion}? `;
  const compose = parent.length === 0 && COMPOSE_KEYS.has(key) ? '; this looks like a Docker Compose file, which is not a project file' : '';
  return `unknown key (${did}expected one of ${allowed.join(', ')}${compose})`;
}

function typeMessage(issue: Issue, schema: unknown): string {
  const expected = describeExpected(schema);
  if (typeof issue.input === 'number') return `invalid value ${issue.input} (expected ${expected})`;
  const listHint = schema instanceof z.ZodArray && typeof issue.input === 'string' ? `; write a list, e.g. [${JSON.stringify(issue.input)}]` : '';
  return `expected ${expected}, got ${describeReceived(issue.input)}${listHint}`;
}

/** zod issues -> positioned problems; an unknown key becomes one problem at each key. */
export function issuesToProblems(issues: readonly Issue[], root: z.ZodType, positions: PositionIndex): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    const schema = schemaAt(root, path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const keyPath = [...path, key];
          problems.push({ path: keyPath, position: positions.key(keyPath), message: unknownKeyMessage(key, path, objectKeys(schema)) });
        }
        break;
      case 'invalid_type':
        problems.push({ path, position: positions.value(path), message: typeMessage(issue, schema) });
        break;
      case 'too_small':
      case 'too_big':
        problems.push({ path, position: positions.value(path), message: `invalid value ${describeReceived(issue.input)} (expected ${describeExpected(schema)})` });
        break;
      default:
        problems.push({ path, position: positions.value(path), message: issue.message });
    }
  }
  return problems;
}

/** Session names are map keys: `defaults` is the template entry, every other key must be a valid name. */
export function sessionNameProblems(value: unknown, positions: PositionIndex): Problem[] {
  const problems: Problem[] = [];
  if (typeof value !== 'object' || value === null) return problems;
  for (const [section, kind] of [['sync', 'synchronization'], ['forward', 'forwarding']] as const) {
    const sessions: unknown = (value as Record<string, unknown>)[section];
    if (typeof sessions !== 'object' || sessions === null || Array.isArray(sessions)) continue;
    for (const name of Object.keys(sessions)) {
      if (name === 'defaults') continue;
      const reason = name === '' ? 'empty names are not allowed in a project file' : validateName(name);
      if (reason === undefined) continue;
      const path = [section, name];
      problems.push({
        path,
        position: positions.key(path),
        message: `invalid ${kind} session name (${name}): ${reason} (names start with a letter, then letters, digits or -)`,
      });
    }
  }
  return problems;
}

/** Zod issues of `schema` for `value`, as positioned problems. */
export function schemaProblems(schema: z.ZodType, value: unknown, positions: PositionIndex): Problem[] {
  const result = schema.safeParse(value, { reportInput: true });
  return result.success ? [] : issuesToProblems(result.error.issues, schema, positions);
}
