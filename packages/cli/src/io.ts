/** What every command shares: exit codes, its output, and the usage error. */

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Aborted when the command should stop (SIGINT/SIGTERM for the real command). */
  stop: AbortSignal;
}

/** A usage error: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
