/** 0: everything done. 2: some files failed (each named; the rest still copied). */
export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_PARTIAL = 2;
export const EXIT_USAGE = 64;
/**
 * 74 (EX_IOERR): blit could not write its own output (stdout/stderr on a full disk, an I/O error, a
 * bad descriptor; not EPIPE, a reader that stopped reading). The run itself went to its end with
 * nothing else wrong; only its report was lost. See stdio.ts.
 */
export const EXIT_OUTPUT_LOST = 74;
