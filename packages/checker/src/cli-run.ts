/** The check-trace command, as a function for tests: returns the exit code. */
import { checkTraces } from "./check.js";
import { TraceFormatError } from "./errors.js";
import { formatReport } from "./format-report.js";
import { readTraces } from "./read.js";
import type { Atomicity } from "./report.js";

export const USAGE =
  "usage: check-trace [--strict | --lenient] <trace dir or .jsonl file>...\n" +
  "  --strict   a multicast split by its sender's loss is a P4 violation unless the missing\n" +
  "             destination recorded a reconciliation fallback (spec/trace.md §4.3)\n" +
  "  --lenient  excuse it (version 1 traces; the default)";

/**
 * Exit codes: 0 no violation, 1 violations, 2 no traces, unreadable or malformed input, 3 a
 * checker bug. `warn` is told of what was skipped or looks wrong (a torn last line, several runs
 * in one folder) and of finding no trace at all. @default `print`
 */
export function runCheckTrace(
  args: readonly string[],
  print: (text: string) => void,
  warn: (text: string) => void = print,
): number {
  if (args.length === 0 || args.includes("--help") || args.includes("-h")) {
    print(USAGE);
    return 2;
  }
  const atomicity: Atomicity = args.includes("--strict") ? "strict" : "lenient";
  const paths = args.filter((a) => a !== "--strict" && a !== "--lenient");
  if (paths.length === 0 || (args.includes("--strict") && args.includes("--lenient"))) {
    print(USAGE);
    return 2;
  }
  try {
    const traces = readTraces(paths, { warn: (message) => warn(`warning: ${message}`) });
    if (traces.size === 0) {
      warn(`no trace records in ${paths.join(", ")} (no non-empty .jsonl file)`);
      return 2;
    }
    const report = checkTraces(traces, { maxViolationsPerProperty: 50, atomicity });
    print(formatReport(report));
    return report.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof TraceFormatError) {
      print(`${e.code}: ${e.message}`);
      return 2;
    }
    print(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 3;
  }
}
