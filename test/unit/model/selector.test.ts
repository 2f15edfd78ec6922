import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { parseLabelSelector } from '../../../src/model/selector.js';

const sessions: Record<string, Record<string, string>> = {
  web: { team: 'a', tier: 'frontend', replicas: '3' },
  api: { team: 'b', tier: 'backend', replicas: '10' },
  db: { team: 'b', replicas: 'x' },
  bare: {},
};

/** Names of the sessions the selector matches, in a fixed order. */
function select(selector: string): string[] {
  const parsed = parseLabelSelector(selector);
  return Object.entries(sessions).filter(([, labels]) => parsed.matches(labels)).map(([name]) => name);
}

function selectorError(selector: string): string {
  try {
    parseLabelSelector(selector);
  } catch (error) {
    if (!(error instanceof MutagenError)) throw error;
    expect(error.code).toBe('MUTAGEN_INVALID_SELECTION');
    expect(error.message).toMatch(/^unable to parse label selector: /);
    return error.message.slice('unable to parse label selector: '.length);
  }
  throw new Error(`expected ${selector} to fail`);
}

describe('parseLabelSelector: operators (§3.4)', () => {
  it('= and == match equal values', () => {
    expect(select('team=a')).toEqual(['web']);
    expect(select('team==b')).toEqual(['api', 'db']);
  });
  it('!= also matches sessions without the key', () => {
    expect(select('team!=a')).toEqual(['api', 'db', 'bare']);
    expect(select('tier!=backend')).toEqual(['web', 'db', 'bare']);
  });
  it('in and notin', () => {
    expect(select('tier in (frontend,backend)')).toEqual(['web', 'api']);
    expect(select('tier notin (frontend)')).toEqual(['api', 'db', 'bare']);
    expect(select('tier in (frontend)')).toEqual(['web']);
  });
  it('exists and does-not-exist', () => {
    expect(select('tier')).toEqual(['web', 'api']);
    expect(select('!tier')).toEqual(['db', 'bare']);
  });
  it('> and < compare integers; non-integer labels never match', () => {
    expect(select('replicas>3')).toEqual(['api']);
    expect(select('replicas<10')).toEqual(['web']);
    expect(select('replicas>0')).toEqual(['web', 'api']);
    expect(selectorError('replicas>-1')).toContain('invalid label value "-1"');
  });
  it('requirements are ANDed', () => {
    expect(select('team=b,tier')).toEqual(['api']);
    expect(select('team=b, !tier')).toEqual(['db']);
    expect(select('team in (a,b),replicas>2,tier!=frontend')).toEqual(['api']);
  });
  it('ignores whitespace around tokens', () => {
    expect(select('  team = a ,  tier  ')).toEqual(['web']);
    expect(select('tier\tin\n( frontend , backend )')).toEqual(['web', 'api']);
  });
  it('the empty selector matches everything', () => {
    expect(select('')).toEqual(['web', 'api', 'db', 'bare']);
    expect(select('   ')).toEqual(['web', 'api', 'db', 'bare']);
  });
  it('an empty exact value matches an empty label value only', () => {
    const parsed = parseLabelSelector('flag=');
    expect(parsed.matches({ flag: '' })).toBe(true);
    expect(parsed.matches({ flag: 'x' })).toBe(false);
    expect(parsed.matches({})).toBe(false);
  });
  it('empty members in a set stand for the empty value', () => {
    expect(parseLabelSelector('flag in ()').matches({ flag: '' })).toBe(true);
    expect(parseLabelSelector('flag in (,a)').matches({ flag: '' })).toBe(true);
    expect(parseLabelSelector('flag in (a,)').matches({ flag: 'a' })).toBe(true);
    expect(parseLabelSelector('flag in (a,,b)').matches({ flag: 'b' })).toBe(true);
  });
  it('in and notin are ordinary words as values and keys', () => {
    expect(parseLabelSelector('mode=in').matches({ mode: 'in' })).toBe(true);
    expect(parseLabelSelector('mode in (in,notin)').matches({ mode: 'notin' })).toBe(true);
    expect(parseLabelSelector('in').matches({ in: '' })).toBe(true);
  });
  it('matches prefixed keys', () => {
    expect(parseLabelSelector('io.mutagen/project=proj_1').matches({ 'io.mutagen/project': 'proj_1' })).toBe(true);
  });
  it('does not see inherited properties as labels', () => {
    expect(parseLabelSelector('constructor').matches({})).toBe(false);
    expect(parseLabelSelector('toString!=x').matches({})).toBe(true);
  });
});

describe('parseLabelSelector: errors', () => {
  it('reports syntax errors', () => {
    expect(selectorError('team=a,')).toBe("found '', expected: identifier after ','");
    expect(selectorError(',team')).toBe("found ',', expected: !, identifier, or 'end of string'");
    expect(selectorError('team=a team=b')).toBe("found 'team', expected: ',' or 'end of string'");
    expect(selectorError('!team=a')).toBe("found '=', expected: ',' or 'end of string'");
    expect(selectorError('team in a')).toBe("unable to parse requirement: found 'a' expected: '('");
    expect(selectorError('team in (a')).toBe("unable to parse requirement: found '', expected: ',' or ')'");
    expect(selectorError('team in (=)')).toBe("unable to parse requirement: found '=', expected: ',', ')' or identifier");
    expect(selectorError('team x')).toBe("unable to parse requirement: found 'x', expected: '=', '!=', '==', 'in', notin'");
    expect(selectorError('team=(')).toBe("unable to parse requirement: found '(', expected: identifier");
    expect(selectorError('!')).toBe("unable to parse requirement: found '', expected: identifier");
  });
  it('validates keys and values', () => {
    expect(selectorError('a/b/c=x')).toMatch(/^unable to parse requirement: invalid label key "a\/b\/c": a qualified name/);
    expect(selectorError('team=-x')).toMatch(/^unable to parse requirement: invalid label value "-x" for key "team"/);
    expect(selectorError('team in (a,b_)')).toContain('invalid label value "b_"');
  });
  it('requires integers for > and <', () => {
    expect(selectorError('replicas>x')).toBe("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer");
    expect(selectorError('replicas<99999999999999999999')).toContain("the value must be an integer");
  });
});
