/**
 * Errors a user can act on. The CLI prints `nitrace <subsystem>: <message>` and exits with `exitCode`
 * instead of a stack trace; anything else that escapes is a bug and is printed with its stack.
 */
export class NitraceError extends Error {
  constructor(
    /** Which part of nitrace speaks: 'capture', 'analyze', 'score', ... */
    readonly subsystem: string,
    message: string,
    /** 2 = bad usage or input, 1 = failure while working, 3 = missing privilege or dependency. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'NitraceError';
  }
}

/** Bad flags or arguments: exit code 2, as yargs does for its own usage errors. */
export class UsageError extends NitraceError {
  constructor(subsystem: string, message: string) {
    super(subsystem, message, 2);
    this.name = 'UsageError';
  }
}
