import { MutagenError } from '../base/errors.js';
import { labelKeyErrors, labelValueErrors } from './label.js';

/**
 * A parsed Kubernetes-style label selector (cli spec §3.4). Pure and reusable: `matches` may be
 * called any number of times, from anywhere.
 */
export interface LabelSelector {
  matches(labels: Readonly<Record<string, string>>): boolean;
}

type Operator = 'exists' | 'does-not-exist' | 'equals' | 'not-equals' | 'in' | 'not-in' | 'greater-than' | 'less-than';

interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

type TokenKind =
  | 'error' | 'end' | 'close' | 'comma' | 'not' | 'double-equals' | 'equals' | 'greater' | 'identifier'
  | 'in' | 'less' | 'not-equals' | 'not-in' | 'open';

interface Token {
  readonly kind: TokenKind;
  readonly literal: string;
}

const SYMBOLS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  [')', 'close'], [',', 'comma'], ['!', 'not'], ['==', 'double-equals'], ['=', 'equals'], ['>', 'greater'],
  ['<', 'less'], ['!=', 'not-equals'], ['(', 'open'],
]);
const KEYWORDS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([['in', 'in'], ['notin', 'not-in']]);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isWhitespace(character: string): boolean {
  return character === ' ' || character === '\t' || character === '\r' || character === '\n';
}

function isSpecial(character: string): boolean {
  return '=!(),><'.includes(character);
}

/** Splits a selector into tokens; an unknown run of symbols becomes an error token. */
function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  for (;;) {
    while (position < text.length && isWhitespace(text[position] as string)) position++;
    if (position >= text.length) {
      tokens.push({ kind: 'end', literal: '' });
      return tokens;
    }
    const start = position;
    if (isSpecial(text[position] as string)) {
      let best: Token | undefined;
      let buffer = '';
      while (position < text.length && isSpecial(text[position] as string)) {
        buffer += text[position] as string;
        const kind = SYMBOLS.get(buffer);
        if (kind !== undefined) best = { kind, literal: buffer };
        else if (best !== undefined) break;
        position++;
      }
      if (best === undefined) tokens.push({ kind: 'error', literal: `error expected: keyword found '${buffer}'` });
      else {
        tokens.push(best);
        position = start + best.literal.length;
      }
      continue;
    }
    while (position < text.length && !isSpecial(text[position] as string) && !isWhitespace(text[position] as string)) position++;
    const literal = text.slice(start, position);
    tokens.push({ kind: KEYWORDS.get(literal) ?? 'identifier', literal });
  }
}

class Parser {
  private position = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  /** In value context the keywords `in`/`notin` are plain identifiers. */
  peek(values = true): Token {
    return this.asContext(this.tokens[this.position] ?? { kind: 'end', literal: '' }, values);
  }

  next(values = true): Token {
    const token = this.peek(values);
    if (this.position < this.tokens.length) this.position++;
    return token;
  }

  private asContext(token: Token, values: boolean): Token {
    return values && (token.kind === 'in' || token.kind === 'not-in') ? { kind: 'identifier', literal: token.literal } : token;
  }
}

function startsRequirement(token: Token): boolean {
  return token.kind === 'identifier' || token.kind === 'not';
}

function parseRequirements(parser: Parser): Requirement[] {
  const requirements: Requirement[] = [];
  for (;;) {
    const token = parser.peek();
    if (token.kind === 'end') return requirements;
    if (!startsRequirement(token)) throw new Error(`found '${token.literal}', expected: !, identifier, or 'end of string'`);
    requirements.push(parseRequirement(parser));
    const after = parser.next();
    if (after.kind === 'end') return requirements;
    if (after.kind !== 'comma') throw new Error(`found '${after.literal}', expected: ',' or 'end of string'`);
    const following = parser.peek();
    if (!startsRequirement(following)) throw new Error(`found '${following.literal}', expected: identifier after ','`);
  }
}

function parseRequirement(parser: Parser): Requirement {
  let token = parser.next();
  const negated = token.kind === 'not';
  if (negated) token = parser.next();
  if (token.kind !== 'identifier') throw requirementError(`found '${token.literal}', expected: identifier`);
  const key = token.literal;
  const keyErrors = labelKeyErrors(key);
  if (keyErrors.length > 0) throw requirementError(`invalid label key "${key}": ${keyErrors.join('; ')}`);
  const lookahead = parser.peek().kind;
  if (negated) return { key, operator: 'does-not-exist', values: [] };
  if (lookahead === 'end' || lookahead === 'comma') return { key, operator: 'exists', values: [] };
  const operator = parseOperator(parser);
  const values = operator === 'in' || operator === 'not-in' ? parseValueSet(parser) : [parseExactValue(parser)];
  validateValues(key, operator, values);
  return { key, operator, values };
}

function requirementError(message: string): Error {
  return new Error(`unable to parse requirement: ${message}`);
}

function parseOperator(parser: Parser): Operator {
  const token = parser.next(false);
  switch (token.kind) {
    case 'in': return 'in';
    case 'not-in': return 'not-in';
    case 'equals': case 'double-equals': return 'equals';
    case 'not-equals': return 'not-equals';
    case 'greater': return 'greater-than';
    case 'less': return 'less-than';
    default: throw requirementError(`found '${token.literal}', expected: '=', '!=', '==', 'in', notin'`);
  }
}

function parseExactValue(parser: Parser): string {
  const lookahead = parser.peek();
  if (lookahead.kind === 'end' || lookahead.kind === 'comma') return '';
  const token = parser.next();
  if (token.kind !== 'identifier') throw requirementError(`found '${token.literal}', expected: identifier`);
  return token.literal;
}

function parseValueSet(parser: Parser): string[] {
  const open = parser.next();
  if (open.kind !== 'open') throw requirementError(`found '${open.literal}' expected: '('`);
  const first = parser.peek();
  if (first.kind === 'close') {
    parser.next();
    return [''];
  }
  if (first.kind !== 'identifier' && first.kind !== 'comma') {
    throw requirementError(`found '${first.literal}', expected: ',', ')' or identifier`);
  }
  const values = parseValueList(parser);
  const close = parser.next();
  if (close.kind !== 'close') throw requirementError(`found '${first.literal}', expected: ')'`);
  return values;
}

/** `v1,v2` inside parentheses; empty members (`(,a)`, `(a,)`, `(a,,b)`) stand for `""`. */
function parseValueList(parser: Parser): string[] {
  const values = new Set<string>();
  for (;;) {
    const token = parser.next();
    if (token.kind === 'identifier') {
      values.add(token.literal);
      const after = parser.peek();
      if (after.kind === 'close') return [...values];
      if (after.kind !== 'comma') throw requirementError(`found '${after.literal}', expected: ',' or ')'`);
    } else if (token.kind === 'comma') {
      if (values.size === 0) values.add('');
      const after = parser.peek();
      if (after.kind === 'close') {
        values.add('');
        return [...values];
      }
      if (after.kind === 'comma') {
        parser.next();
        values.add('');
      }
    } else {
      throw requirementError(`found '${token.literal}', expected: ',', or identifier`);
    }
  }
}

function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

function validateValues(key: string, operator: Operator, values: readonly string[]): void {
  const problems: string[] = [];
  if ((operator === 'greater-than' || operator === 'less-than') && values.some((value) => parseInt64(value) === undefined)) {
    problems.push("for 'Gt', 'Lt' operators, the value must be an integer");
  }
  for (const value of values) {
    const errors = labelValueErrors(value);
    if (errors.length > 0) problems.push(`invalid label value "${value}" for key "${key}": ${errors.join('; ')}`);
  }
  if (problems.length > 0) throw requirementError(problems.join(', '));
}

function matchesRequirement(requirement: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const value = present ? labels[requirement.key] : undefined;
  switch (requirement.operator) {
    case 'exists': return present;
    case 'does-not-exist': return !present;
    case 'equals': case 'in': return value !== undefined && requirement.values.includes(value);
    case 'not-equals': case 'not-in': return value === undefined || !requirement.values.includes(value);
    case 'greater-than': case 'less-than': {
      const actual = value === undefined ? undefined : parseInt64(value);
      const bound = parseInt64(requirement.values[0] ?? '');
      if (actual === undefined || bound === undefined) return false;
      return requirement.operator === 'greater-than' ? actual > bound : actual < bound;
    }
  }
}

/**
 * Parses a selector: comma-separated requirements that must all hold. The empty selector
 * matches everything. Throws `MUTAGEN_INVALID_SELECTION` (`unable to parse label selector: …`).
 */
export function parseLabelSelector(text: string): LabelSelector {
  let requirements: Requirement[];
  try {
    requirements = parseRequirements(new Parser(lex(text)));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MutagenError('MUTAGEN_INVALID_SELECTION', `unable to parse label selector: ${reason}`);
  }
  return {
    matches: (labels) => requirements.every((requirement) => matchesRequirement(requirement, labels)),
  };
}
