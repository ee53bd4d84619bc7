/** 0: everything done. 2: some files failed (each named; the rest still copied). */
export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_PARTIAL = 2;
export const EXIT_USAGE = 64;
