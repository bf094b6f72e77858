/** What every command shares: exit codes, its output, and the usage error. */

/**
 * The command's exit codes: OK 0, FAILED 1 (the bus said no, or a property was violated), USAGE 2,
 * UNREACHABLE 3 (no answer within --timeout), INTERRUPTED 130 (SIGINT/SIGTERM before `send` ended;
 * 128 + SIGINT, as shells report Ctrl-C).
 */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3, INTERRUPTED: 130 } as const;

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
  /** The command whose `--help` to point to ("" for `capbus --help`); undefined: the one run. */
  readonly where: string | undefined;

  constructor(message: string, where?: string) {
    super(message);
    this.where = where;
  }
}
