/** checkTraces: every check of spec/trace.md over one run's traces. */
import type { TraceRecord } from "@capbus/trace";
import { checkDelivery } from "./atomic.js";
import { checkCausality } from "./causal.js";
import { computeClocks } from "./clocks.js";
import { checkConsistency } from "./consistency.js";
import { buildModel } from "./model.js";
import { checkNotifications } from "./notify.js";
import { checkTotalOrder } from "./order.js";
import { type Traces, validateTrace } from "./read.js";
import { type CheckOptions, type CheckReport, Collector } from "./report.js";

/**
 * Checks one run's traces (every peer's records, in its order) against P1-P6.
 * Throws TraceFormatError if a trace breaks the structural rules (start first, one peer, ...).
 */
export function checkTraces(
  traces: Traces | Iterable<readonly [string, readonly TraceRecord[]]>,
  options: CheckOptions = {},
): CheckReport {
  const map: Traces = traces instanceof Map ? traces : new Map(traces);
  for (const [peer, records] of map) validateTrace(records, `trace of ${peer}`);
  const out = new Collector(options.maxViolationsPerProperty ?? 1000);
  const model = buildModel(map, out);
  computeClocks(model, out);
  checkConsistency(model, out);
  checkTotalOrder(model, out);
  checkCausality(model, out);
  const atomicity = options.atomicity ?? "lenient";
  checkDelivery(model, out, atomicity === "strict");
  checkNotifications(model, out);
  const total = Object.values(out.violationCounts).reduce((a, b) => a + b, 0);
  return {
    ok: total === 0,
    counts: model.counts,
    violationCounts: out.violationCounts,
    violations: out.violations,
    excused: out.excused,
    partial: out.partial,
    atomicity,
  };
}
