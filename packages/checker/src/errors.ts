/** Errors of @capbus/checker; tests and callers match on `code`, never on message text. */

/** A trace file or record that does not follow spec/trace.md. */
export class TraceFormatError extends Error {
  static override readonly name = "TraceFormatError";
  override readonly name = "TraceFormatError";
  readonly code = "E_TRACE_FORMAT";

  constructor(
    message: string,
    /** The file (or other source name) the record came from. */
    readonly source: string,
    /** 1-based line number, when one line is at fault. */
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(line === undefined ? `${source}: ${message}` : `${source}:${line}: ${message}`, options);
  }
}
