/** Thrown by a command that already printed its own error and wants a specific exit status. */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'CommandExit';
  }
}

/** Exit statuses (cli spec §1, ARCHITECTURE §4.1 step 10). */
export const EXIT_SUCCESS = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL = 70;
export const EXIT_INTERRUPTED = 130;
