import { MutagenError } from '../base/errors.js';

// Kubernetes label grammar (cli spec §3.3); the texts follow apimachinery's validation messages.
const QUALIFIED_NAME_FORMAT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FORMAT}$`);
const QUALIFIED_NAME_MESSAGE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX_LENGTH = 63;
const DNS1123_LABEL_FORMAT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FORMAT = `${DNS1123_LABEL_FORMAT}(\\.${DNS1123_LABEL_FORMAT})*`;
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FORMAT}$`);
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
const LABEL_VALUE_FORMAT = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FORMAT}$`);
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX_LENGTH = 63;

function regexError(message: string, format: string, examples: readonly string[]): string {
  const quoted = examples.map((example) => `'${example}', `).join('or ');
  return `${message} (e.g. ${quoted}regex used for validation is '${format}')`;
}

function maxLengthError(length: number): string {
  return `must be no more than ${length} characters`;
}

function qualifiedNameErrors(name: string): string[] {
  const errors: string[] = [];
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_MAX_LENGTH) errors.push(`name part ${maxLengthError(QUALIFIED_NAME_MAX_LENGTH)}`);
  if (!QUALIFIED_NAME.test(name)) {
    errors.push(`name part ${regexError(QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME_FORMAT, ['MyName', 'my.name', '123-abc'])}`);
  }
  return errors;
}

function prefixErrors(prefix: string): string[] {
  if (prefix.length === 0) return ['prefix part must be non-empty'];
  const errors: string[] = [];
  if (prefix.length > DNS1123_SUBDOMAIN_MAX_LENGTH) errors.push(`prefix part ${maxLengthError(DNS1123_SUBDOMAIN_MAX_LENGTH)}`);
  if (!DNS1123_SUBDOMAIN.test(prefix)) {
    errors.push(`prefix part ${regexError(DNS1123_SUBDOMAIN_MESSAGE, DNS1123_SUBDOMAIN_FORMAT, ['example.com'])}`);
  }
  return errors;
}

/** Reasons a label key is invalid (empty list = valid): `[prefix/]name`, Kubernetes rules. */
export function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME_FORMAT, ['MyName', 'my.name', '123-abc'])}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  const [first, second] = parts as [string, string | undefined];
  if (second === undefined) return qualifiedNameErrors(first);
  return [...prefixErrors(first), ...qualifiedNameErrors(second)];
}

/** Reasons a label value is invalid (empty list = valid); the empty value is valid. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > LABEL_VALUE_MAX_LENGTH) errors.push(maxLengthError(LABEL_VALUE_MAX_LENGTH));
  if (!LABEL_VALUE.test(value)) errors.push(regexError(LABEL_VALUE_MESSAGE, LABEL_VALUE_FORMAT, ['MyValue', 'my_value', '12345']));
  return errors;
}

/** `undefined` when the key is valid, else the reason (cli spec §3.3). */
export function validateLabelKey(key: string): string | undefined {
  const errors = labelKeyErrors(key);
  return errors.length === 0 ? undefined : errors.join(', ');
}

/** `undefined` when the value is valid, else the reason (cli spec §3.3). */
export function validateLabelValue(value: string): string | undefined {
  const errors = labelValueErrors(value);
  return errors.length === 0 ? undefined : errors.join(', ');
}

/**
 * Parses `KEY[=VALUE]` (split at the first `=`; no `=` means the empty value).
 * Throws `MUTAGEN_INVALID_LABEL` with `invalid label key: …` or `invalid label value: …`.
 */
export function parseLabel(text: string): { key: string; value: string } {
  const separator = text.indexOf('=');
  const key = separator < 0 ? text : text.slice(0, separator);
  const value = separator < 0 ? '' : text.slice(separator + 1);
  const keyProblem = validateLabelKey(key);
  if (keyProblem !== undefined) throw new MutagenError('MUTAGEN_INVALID_LABEL', `invalid label key: ${keyProblem}`);
  const valueProblem = validateLabelValue(value);
  if (valueProblem !== undefined) throw new MutagenError('MUTAGEN_INVALID_LABEL', `invalid label value: ${valueProblem}`);
  return { key, value };
}
