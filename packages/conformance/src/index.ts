/**
 * @capbus/conformance: the conformance kit. `runConformance` drives a peer under test over a real
 * socket (WebSocket or a Unix socket) as the other end: the frame vectors, the handshake good and
 * bad, holding and owning a node, the scenario vectors and a multi-peer ordering run judged by the
 * trace checker, resume, and hostile frames. The peer under test offers what spec/README.md
 * ("Conformance kit") lists; `capbus conformance` is the command.
 *
 * @module @capbus/conformance
 */
import { codec } from "./codec.js";
import { handshake } from "./handshake.js";
import { holder, owner } from "./holder.js";
import { hostile } from "./hostile.js";
import { ordering } from "./ordering.js";
import { resume } from "./resume.js";
import { type CheckResult, type ConformanceOptions, type ConformanceSummary, run } from "./run.js";

export {
  type CheckResult,
  type ConformanceOptions,
  type ConformanceSummary,
  defaultVectors,
  GROUPS,
  type Group,
} from "./run.js";

/** Run the kit against the peer `options` name; resolves with every result and the counts. */
export function runConformance(options: ConformanceOptions): Promise<ConformanceSummary> {
  return run(options, { codec, handshake, holder, owner, ordering, resume, hostile });
}

/** One result as the kit prints it: `ok group: name`, `FAIL group: name: why`, `skip group: name: why`. */
export function formatResult(result: CheckResult): string {
  const word = { ok: "ok", fail: "FAIL", skip: "skip" }[result.status];
  return `${word} ${result.group}: ${result.name}${result.why === undefined ? "" : `: ${result.why}`}`;
}

/** The summary line. */
export function formatSummary(summary: ConformanceSummary): string {
  return `${summary.failed === 0 ? "PASS" : "FAIL"}: ${summary.ok} ok, ${summary.failed} failed, ${summary.skipped} skipped in ${(summary.ms / 1000).toFixed(1)} s`;
}
