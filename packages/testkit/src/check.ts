/** Running the order checker over one run's trace directory. */
import {
  type CheckOptions,
  type CheckReport,
  checkTraces,
  formatReport,
  readTraceDir,
} from "@capbus/checker";
import { CheckFailedError, TestkitError } from "./errors.js";

/**
 * Checks every `*.jsonl` trace in `dir` (P1-P6, spec/trace.md) and returns the report; throws
 * CheckFailedError on a violation and E_NO_TRACES when there is nothing to check, so that a run
 * whose children never traced cannot pass by accident.
 */
export function checkTraceDir(dir: string, options: CheckOptions = {}): CheckReport {
  const traces = readTraceDir(dir);
  if (traces.size === 0) {
    throw new TestkitError("E_NO_TRACES", `no traces in ${dir}: did the children create @capbus/node peers?`);
  }
  const report = checkTraces(traces, options);
  if (!report.ok) throw new CheckFailedError(report, dir, formatReport(report));
  return report;
}
