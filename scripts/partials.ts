/**
 * Split multicasts by cause over the ordering property test's workloads, with senders crashed
 * mid-commit and mid-abort (issue 22): the before and after figures of the reconciliation.
 *
 *   npm run partials -- --runs 300 --seed 1
 *
 * Draws --runs ordering workloads and --runs/5 bursty ones from --seed as the property test draws
 * them (test/support/property-params.ts, crashes on), checks each in strict atomicity without
 * stopping at the first failure (the property test stops there and shrinks), and prints a JSON
 * summary: partial multicasts and their missing destinations by cause (spec/trace.md §4.3), how
 * many multicasts strict atomicity finds split (a P4 violation: split among live peers),
 * violations by property, the runs that had any (with their parameters, to replay), and how often
 * each crash kind ran. Exits 1 if any run had a violation.
 */
import { parseArgs } from "node:util";
import { checkTraces, type Property } from "@capbus/checker";
import fc from "fast-check";
import { burstyParams, orderingParams } from "../test/support/property-params.js";
import { runWorkload, type WorkloadParams } from "../test/support/workload.js";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "300" }, seed: { type: "string", default: "1" } },
});
const RUNS = Number(values.runs);
const SEED = Number(values.seed) >>> 0;

const missing: Record<string, number> = {};
const violations: Partial<Record<Property, number>> = {};
const failing: { params: WorkloadParams; violations: Partial<Record<Property, number>> }[] = [];
const kinds = { runs: 0, crashMidCommit: 0, crashMidAbort: 0, multicast: 0, loss: 0 };
let partialEvents = 0;
/** Multicasts with a destination missing for a cause strict atomicity does not excuse. */
const splitAmongLive = new Set<string>();

async function measure(params: WorkloadParams): Promise<void> {
  const run = await runWorkload(params);
  kinds.runs++;
  kinds.crashMidCommit += run.counts.crashMidCommit;
  kinds.crashMidAbort += run.counts.crashMidAbort;
  kinds.multicast += run.counts.multicast;
  kinds.loss += run.counts.loss;
  const report = checkTraces(run.traces.byPeer, { atomicity: "strict" });
  for (const v of report.violations)
    if (v.property === "P4" && v.events[0] !== undefined) splitAmongLive.add(`${params.seed}/${v.events[0]}`);
  partialEvents += report.partial.events;
  for (const [cause, n] of Object.entries(report.partial.missing)) missing[cause] = (missing[cause] ?? 0) + n;
  const found: Partial<Record<Property, number>> = {};
  for (const [p, n] of Object.entries(report.violationCounts) as [Property, number][]) {
    if (n === 0) continue;
    found[p] = n;
    violations[p] = (violations[p] ?? 0) + n;
  }
  if (!report.ok) failing.push({ params, violations: found });
}

const t0 = Date.now();
for (const params of fc.sample(orderingParams(true), { seed: SEED, numRuns: RUNS })) await measure(params);
const bursty = Math.max(1, Math.floor(RUNS / 5));
for (const params of fc.sample(burstyParams(true), { seed: SEED, numRuns: bursty })) await measure(params);
console.log(
  JSON.stringify(
    {
      seed: SEED,
      runs: RUNS,
      burstyRuns: bursty,
      seconds: Math.round((Date.now() - t0) / 1000),
      kinds,
      partialMulticasts: partialEvents,
      splitAmongLive: splitAmongLive.size,
      missingByCause: missing,
      violations,
      failingRuns: failing.length,
      failing: failing.slice(0, 20),
    },
    null,
    2,
  ),
);
process.exitCode = failing.length > 0 ? 1 : 0;
