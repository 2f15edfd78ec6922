import readline from 'node:readline/promises';
import { Writable } from 'node:stream';
import { MutagenError } from '../../base/errors.js';
import type { ClientPrompter } from '../../daemon/client.js';

/**
 * Asks the user on the controlling terminal (stdin/stderr). `echo` questions (host keys, yes/no)
 * show what is typed; `secret` ones (passwords) do not. Without a terminal every prompt fails.
 * One prompt at a time; cancelled by the signal.
 */
export function terminalPrompter(terminalInput: () => NodeJS.ReadStream, output: NodeJS.WriteStream): ClientPrompter {
  return {
    async prompt(request, signal): Promise<string> {
      // Taken only now: merely touching process.stdin costs start-up time of every command.
      const input = terminalInput();
      if (input.isTTY !== true) {
        throw new MutagenError('MUTAGEN_UNSUPPORTED', `unable to prompt: no terminal available (${request.message.trim()})`, {
          hint: 'Run the command in an interactive terminal, or set up key-based authentication.',
        });
      }
      let muted = false;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback): void {
          if (!muted) output.write(chunk);
          callback();
        },
      });
      const rl = readline.createInterface({ input, output: sink, terminal: true });
      try {
        const question = rl.question(request.message, { signal });
        muted = request.kind === 'secret';
        const answer = await question;
        if (muted) output.write('\n');
        return answer;
      } finally {
        rl.close();
      }
    },
  };
}
