/** Typed syscall bindings: owned by the native work (issue 2). */
export {};
