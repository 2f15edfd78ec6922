const LETTER = /^\p{L}$/u;
const NUMBER = /^\p{N}$/u;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Checks a session name (cli spec §3.1). Returns `undefined` when valid (the empty string is
 * valid and means "unnamed"), else the reason fragment; callers prefix `invalid session name: `.
 * The index in `invalid name character at index <i>` is a UTF-8 byte offset, as upstream reports.
 */
export function validateName(name: string): string | undefined {
  let index = 0;
  let containsDash = false;
  for (const character of name) {
    const at = index;
    index += Buffer.byteLength(character, 'utf8');
    if (LETTER.test(character)) continue;
    if (at === 0) return 'name does not start with Unicode letter';
    if (NUMBER.test(character)) continue;
    if (character === '-') {
      containsDash = true;
      continue;
    }
    return `invalid name character at index ${at}: '${character}'`;
  }
  if (containsDash && UUID.test(name)) return 'name must not be a UUID';
  if (name === 'defaults') return '"defaults" is disallowed as a name';
  return undefined;
}
