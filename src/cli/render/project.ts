import { MutagenError } from '../../base/errors.js';
import { ConfigErrors } from '../../config/errors.js';
import type { DesiredProject } from '../../config/project.js';
import { configurationToJson, forwardConfigurationToJson, forwardSessionToJson, syncSessionToJson } from '../../model/json.js';
import { formatOctalMode } from '../../model/values.js';
import type { ProjectSessions } from '../../runtime/observe.js';
import type { RunResult } from '../../runtime/progress.js';
import { formatUrl } from '../../url/format.js';
import { formatForwardList } from './forward-list.js';
import { neutralize, type Output } from './output.js';
import { DELIMITER, formatEndpointHeader, formatSessionConfiguration, formatSyncList, type ListStyle } from './sync-list.js';

/** `project list` (cli spec §7.7): forward block, an empty line, then the sync block. */
export function formatProjectList(sessions: ProjectSessions, style: ListStyle): string {
  return `Forwarding sessions:\n${formatForwardList(sessions.forward, style)}\nSynchronization sessions:\n${formatSyncList(sessions.sync, style)}`;
}

/** `project list --json`: `{"forward": [...], "sync": [...]}` with the objects of `forward/sync list --json`. */
export function projectListJson(sessions: ProjectSessions): string {
  return `${JSON.stringify({ forward: sessions.forward.map(forwardSessionToJson), sync: sessions.sync.map(syncSessionToJson) })}\n`;
}

/**
 * Prints every problem of a bad project or global file on its own line and returns the error
 * that ends the command (`unable to load configuration file: …`, cli spec §7.2, §11). Other
 * errors are returned unchanged.
 */
export function configFailure(error: unknown, output: Output): unknown {
  if (!(error instanceof ConfigErrors)) return error;
  const hint = error.hint === undefined ? {} : { hint: error.hint };
  const [first] = error.errors;
  if (error.errors.length === 1 && first !== undefined) {
    return new MutagenError('MUTAGEN_CONFIG', `unable to load configuration file: ${first.message}`, { cause: error, ...hint });
  }
  for (const problem of error.errors) output.errorLine(neutralize(problem.message));
  const files = [...new Set(error.errors.map((problem) => problem.file))].join(' and ');
  return new MutagenError('MUTAGEN_CONFIG', `unable to load configuration file: ${files} has ${error.errors.length} problems (listed above)`, { cause: error, ...hint });
}

/**
 * After a run: what was skipped (warnings) and, when it stopped early, what was applied and not
 * run (stderr). Returns the error that ends the command (the first failure, with `hint` added),
 * or undefined when the run succeeded.
 */
export function reportRun(result: RunResult, output: Output, hint: string): Error | undefined {
  for (const skipped of result.skipped) output.warn(`${skipped.title} skipped: ${skipped.reason}`);
  const failure = result.failures[0];
  if (failure === undefined && !result.cancelled) return undefined;
  const done = result.done.map((task) => task.title);
  output.errorLine(`Applied before stopping: ${done.length === 0 ? 'nothing' : done.join(', ')}`);
  for (const other of result.failures.slice(1)) output.errorLine(`Also failed: ${other.title}: ${other.error instanceof Error ? other.error.message : String(other.error)}`);
  if (result.notRun.length > 0) output.errorLine(`Not run: ${result.notRun.join(', ')}`);
  if (failure === undefined) return new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled');
  const error = failure.error;
  if (!(error instanceof Error)) return new MutagenError('MUTAGEN_INTERNAL', String(error));
  if (!(error instanceof MutagenError) || error.code === 'MUTAGEN_CANCELLED') return error;
  return new MutagenError(error.code, error.message, { cause: error, hint: error.hint === undefined ? hint : `${error.hint} ${hint}` });
}

/** `project config --json`: the normalised sessions, hooks and commands. */
export function projectConfigurationJson(project: DesiredProject): Record<string, unknown> {
  return {
    file: project.file,
    hooks: project.hooks,
    commands: project.commands,
    sync: project.sync.map((session) => ({
      name: session.name,
      alpha: session.spec.alpha,
      beta: session.spec.beta,
      flushOnCreate: session.flushOnCreate,
      ...configurationToJson(session.spec.configuration),
      configurationAlpha: configurationToJson(session.spec.configurationAlpha),
      configurationBeta: configurationToJson(session.spec.configurationBeta),
      specHash: session.specHash,
    })),
    forward: project.forward.map((session) => ({
      name: session.name,
      source: session.spec.source,
      destination: session.spec.destination,
      ...forwardConfigurationToJson(session.spec.configuration),
      configurationSource: forwardConfigurationToJson(session.spec.configurationSource),
      configurationDestination: forwardConfigurationToJson(session.spec.configurationDestination),
      specHash: session.specHash,
    })),
  };
}

function formatHooks(project: DesiredProject): string[] {
  const lines: string[] = [];
  for (const [phase, commands] of Object.entries(project.hooks) as [string, readonly string[]][]) {
    if (commands.length > 0) lines.push(`\t${phase}:`, ...commands.map((command) => `\t\t${command}`));
  }
  const commands = Object.entries(project.commands);
  return [
    ...(lines.length === 0 ? ['Hooks: None'] : ['Hooks:', ...lines]),
    ...(commands.length === 0 ? ['Commands: None'] : ['Commands:', ...commands.map(([name, command]) => `\t${name}: ${command}`)]),
  ];
}

function formatSocket(title: string, socket: DesiredProject['forward'][number]['spec']['configuration']['socket']): string[] {
  const set = [
    socket.overwriteMode === undefined ? '' : `overwrite mode ${socket.overwriteMode}`,
    socket.owner === undefined ? '' : `owner ${socket.owner}`,
    socket.group === undefined ? '' : `group ${socket.group}`,
    socket.permissionMode === undefined ? '' : `permission mode ${formatOctalMode(socket.permissionMode)}`,
  ].filter((part) => part !== '');
  return set.length === 0 ? [] : [`\t${title}: ${set.join(', ')}`];
}

/**
 * `project config`: the sessions exactly as `start` would create them (defaults and the global
 * file merged, URLs resolved), in the layout of `sync list -l`.
 */
export function formatProjectConfiguration(project: DesiredProject, style: ListStyle): string {
  const lines = [`Project file: ${project.file}`, ...formatHooks(project), '', 'Synchronization sessions:'];
  if (project.sync.length === 0) lines.push(DELIMITER, 'No synchronization sessions defined');
  for (const session of project.sync) {
    const spec = session.spec;
    lines.push(DELIMITER, `Name: ${session.name}`, `Flush on create: ${session.flushOnCreate ? 'Yes' : 'No'}`, `Spec hash: ${session.specHash}`);
    lines.push('Configuration:', ...formatSessionConfiguration(spec.configuration));
    lines.push(...formatEndpointHeader('Alpha', spec.alpha, spec.configurationAlpha, spec.configuration, style.long, style.localLink?.(spec.alpha) ?? false));
    lines.push(...formatEndpointHeader('Beta', spec.beta, spec.configurationBeta, spec.configuration, style.long, style.localLink?.(spec.beta) ?? false));
  }
  lines.push(DELIMITER, '', 'Forwarding sessions:');
  if (project.forward.length === 0) lines.push(DELIMITER, 'No forwarding sessions defined');
  for (const session of project.forward) {
    const spec = session.spec;
    lines.push(DELIMITER, `Name: ${session.name}`, `Spec hash: ${session.specHash}`);
    lines.push(`Source: ${formatUrl(spec.source)}`, ...formatSocket('Source socket', spec.configurationSource.socket));
    lines.push(`Destination: ${formatUrl(spec.destination)}`, ...formatSocket('Destination socket', spec.configurationDestination.socket));
    lines.push(...formatSocket('Socket', spec.configuration.socket));
  }
  lines.push(DELIMITER);
  return `${neutralize(lines.join('\n'))}\n`;
}

