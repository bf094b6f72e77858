/** Errors of @capbus/testkit; tests match on `code`, never on message text. */
import type { CheckReport } from "@capbus/checker";

/** The codes of TestkitError; test them, not messages. */
export const TestkitErrorCode = {
  /** A child did not print what was awaited (ready, or a line with a key) in time. */
  E_TIMEOUT: "E_TIMEOUT",
  /** A child exited while something was still awaited from it. */
  E_EXITED: "E_EXITED",
  /** The trace directory holds no trace: nothing to check (was CAPBUS_TRACE honoured?). */
  E_NO_TRACES: "E_NO_TRACES",
  /** The order checker found violations; the report is attached. */
  E_CHECK: "E_CHECK",
  /** The kit was already disposed. */
  E_DISPOSED: "E_DISPOSED",
  /** tsx, needed to run TypeScript children, cannot be found. */
  E_NO_TSX: "E_NO_TSX",
} as const;
/** One of the TestkitErrorCode values. */
export type TestkitErrorCode = (typeof TestkitErrorCode)[keyof typeof TestkitErrorCode];

/** What the kit throws when a child misbehaves (times out, exits early, prints junk) or tsx is missing. */
export class TestkitError extends Error {
  static override readonly name: string = "TestkitError";
  override readonly name: string = "TestkitError";

  constructor(
    readonly code: TestkitErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The checker found violations in a run's traces. */
export class CheckFailedError extends TestkitError {
  static override readonly name = "CheckFailedError";
  override readonly name = "CheckFailedError";

  constructor(
    readonly report: CheckReport,
    /** Where the traces are (kept for inspection). */
    readonly traceDir: string,
    formatted: string,
  ) {
    super("E_CHECK", `order checker over ${traceDir}:\n${formatted}`);
  }
}
