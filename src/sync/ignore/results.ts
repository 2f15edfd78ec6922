/**
 * Shared, frozen ignore results. Evaluators return these instances instead of allocating, so a
 * memo of a million paths holds references, not objects.
 */
import type { IgnoreResult, IgnoreStatus } from './ignorer.js';

export const NOMINAL: IgnoreResult = Object.freeze({ status: 'nominal', continueTraversal: false });
export const IGNORED: IgnoreResult = Object.freeze({ status: 'ignored', continueTraversal: false });
export const UNIGNORED: IgnoreResult = Object.freeze({ status: 'unignored', continueTraversal: false });
const NOMINAL_CONTINUE: IgnoreResult = Object.freeze({ status: 'nominal', continueTraversal: true });
const IGNORED_CONTINUE: IgnoreResult = Object.freeze({ status: 'ignored', continueTraversal: true });

/** The shared result for a status, with continuation only where the contract allows it. */
export function ignoreResult(status: IgnoreStatus, continueTraversal: boolean): IgnoreResult {
  switch (status) {
    case 'nominal':
      return continueTraversal ? NOMINAL_CONTINUE : NOMINAL;
    case 'ignored':
      return continueTraversal ? IGNORED_CONTINUE : IGNORED;
    case 'unignored':
      return UNIGNORED;
  }
}
