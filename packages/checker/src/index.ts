/**
 * @capbus/checker: reads capbus traces (spec/trace.md) and checks them against P1-P6.
 *
 * @module @capbus/checker
 */
export { checkTraces } from "./check.js";
export { runCheckTrace } from "./cli-run.js";
export { compareTs } from "./consistency.js";
export { TraceFormatError } from "./errors.js";
export { formatReport } from "./format-report.js";
export {
  parseTrace,
  type ReadOptions,
  readTraceDir,
  readTraces,
  runGroups,
  type Traces,
  tracesFromRecords,
  validateTrace,
} from "./read.js";
export type {
  Atomicity,
  CheckOptions,
  CheckReport,
  PartialCause,
  PartialMulticasts,
  Property,
  TraceCounts,
  Violation,
} from "./report.js";
export { PARTIAL_CAUSES, PROPERTIES } from "./report.js";
