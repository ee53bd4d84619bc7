/** `blitd` entry point: owned by the daemon work (issue 4). */
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('blitd: not built yet\n');
  return 1;
}
