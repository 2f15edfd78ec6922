import { MutagenError } from '../../base/errors.js';

/**
 * `--template` support. mutagen-ts accepts only the form `{{json .}}` (cli spec §2.2; spaces
 * inside the braces and Go's `{{-`/`-}}` trim markers are allowed), optionally surrounded by
 * literal whitespace, which is kept as Go's text/template would keep it.
 */
export interface JsonTemplate {
  readonly prefix: string;
  readonly suffix: string;
}

const FORM = /^(\s*)\{\{(-?)\s*json\s+\.\s*(-?)\}\}(\s*)$/;

export function parseTemplate(text: string, source: string): JsonTemplate {
  const match = FORM.exec(text);
  if (match === null) {
    throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `unsupported template${source === '' ? '' : ` (${source})`}: only {{json .}} is supported`, {
      hint: 'Use --json (or --template \'{{json .}}\') and process the JSON with a tool such as jq.',
    });
  }
  return { prefix: match[2] === '-' ? '' : match[1] ?? '', suffix: match[3] === '-' ? '' : match[4] ?? '' };
}

/** Compact JSON of `value` inside the template's literal text. */
export function applyTemplate(template: JsonTemplate, value: unknown): string {
  return `${template.prefix}${JSON.stringify(value)}${template.suffix}`;
}
