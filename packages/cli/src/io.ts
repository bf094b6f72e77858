/** What every command shares: exit codes, its output, and the usage error. */

/**
 * The command's exit codes: OK 0, FAILED 1 (the bus said no, or a property was violated), USAGE 2,
 * UNREACHABLE 3.
 */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

/** Where a command writes its output and learns that it should stop. */
export interface Io {
  /** Write one line to stdout: results, events, URLs. */
  out(line: string): void;
  /** Write one line to stderr: errors and usage. */
  err(line: string): void;
  /** Aborted when the command should stop (SIGINT/SIGTERM for the real command). */
  stop: AbortSignal;
}

/** A usage error: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
