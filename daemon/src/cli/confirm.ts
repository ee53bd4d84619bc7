/** A yes/no question on the terminal; anything but y/yes (or end of input) means no. */
import { createInterface } from 'node:readline';

export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}

export function askYesNo(question: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, output, terminal: false });
    let answered = false;
    output.write(`${question} [y/N] `);
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(isYes(line));
    });
    rl.once('close', () => {
      if (!answered) {
        output.write('\n');
        resolve(false);
      }
    });
  });
}
