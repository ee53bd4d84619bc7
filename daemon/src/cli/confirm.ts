/** A yes/no question on the terminal; anything but y/yes (or end of input) means no. */
import { createInterface } from 'node:readline';

export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}

/** Resolves false on end of input or when `signal` aborts (Ctrl-C at the prompt means no). */
export function askYesNo(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const rl = createInterface({ input, output, terminal: false });
    let answered = false;
    const finish = (yes: boolean): void => {
      if (answered) return;
      answered = true;
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      resolve(yes);
    };
    const onAbort = (): void => {
      output.write('\n');
      finish(false);
    };
    signal?.addEventListener('abort', onAbort);
    output.write(`${question} [y/N] `);
    rl.once('line', (line) => finish(isYes(line)));
    rl.once('close', () => {
      if (!answered) output.write('\n');
      finish(false);
    });
  });
}
