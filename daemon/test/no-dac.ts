/**
 * How a test makes permissions bite when it runs as root (root reads anything): the process stays
 * root but runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so mode bits apply to it as to
 * their owner. (Switching to uid 65534 instead failed whenever the checkout sits below a directory
 * only root may enter, e.g. a `mktemp -d` clone: that user could not load blit at all.) Used for
 * `blit` (cli/harness.ts `unprivileged`) and for blitd (module-fixture.ts `start`).
 */
export const IS_ROOT = process.getuid?.() === 0;

/** setpriv's arguments that drop both capabilities (inheritable and bounding set). */
export const NO_DAC_CAPS = ['--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search'];

/** The command prefix that runs a program without them: setpriv as root, nothing otherwise (it has none). */
export function withoutDacCaps(): string[] {
  return IS_ROOT ? ['setpriv', ...NO_DAC_CAPS] : [];
}
