/**
 * P1-P5 over random workloads on the simulated network: 3-10 peers, 20-300 operations (sends,
 * causal chains, handles passed to third peers, destroys, releases, and every peer closing at the
 * end), random per-direction link speeds. Each run's traces go through the independent checker
 * (happened-before from vector clocks, never from the timestamps under test).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { formatReplay, seedFromEnv } from "@capbus/sim";
import fc from "fast-check";
import { runWorkload, type WorkloadCounts } from "./support/workload.js";

const RUNS = Number(process.env.CAPBUS_RUNS ?? 1000);
const seed = seedFromEnv(Math.floor(Math.random() * 2 ** 31));
const KINDS = [
  "unicast",
  "multicast",
  "withHandles",
  "thirdParty",
  "reaction",
  "destroy",
  "release",
  "racing",
  "deadOnArrival",
] as const satisfies ReadonlyArray<keyof WorkloadCounts>;
const totals: WorkloadCounts & { runs: number; deliveries: number } = {
  runs: 0,
  deliveries: 0,
  ...(Object.fromEntries(KINDS.map((k) => [k, 0])) as unknown as WorkloadCounts),
};

after(() => {
  const kinds = KINDS.map((k) => `${k} ${totals[k]}`).join(", ");
  console.log(
    `ordering property: ${totals.runs} runs, ${kinds}, deliveries ${totals.deliveries} (seed ${seed})`,
  );
});

test("P1-P5 hold for random workloads on a random network", async () => {
  const params = fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    peers: fc.integer({ min: 3, max: 10 }),
    operations: fc.integer({ min: 20, max: 300 }),
  });
  const property = fc.asyncProperty(params, async (p) => {
    const run = await runWorkload(p);
    totals.runs++;
    for (const key of KINDS) totals[key] += run.counts[key];
    for (const order of run.orders.values()) totals.deliveries += order.length;

    for (const r of run.results) {
      for (const d of r.destinations) {
        assert.ok(d.committed || d.code === "E_DESTROYED", `${r.event} at ${d.node}: ${d.code}`);
      }
    }
    for (const code of run.refused.keys()) {
      assert.ok(code === "E_DESTROYED" || code === "E_RELEASED", `a send refused with ${code}`);
    }
    for (const [peer, order] of run.orders) {
      for (let i = 1; i < order.length; i++) {
        const [a, b] = [order[i - 1], order[i]] as [
          readonly [number, string, number],
          readonly [number, string, number],
        ];
        const before = a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] <= b[2])));
        assert.ok(before, `${peer} delivers in timestamp order`);
      }
    }
    const report = checkTraces(run.traces.byPeer);
    assert.ok(report.ok, formatReport(report));
  });
  try {
    await fc.assert(property, { numRuns: RUNS, seed, includeErrorInReport: true });
  } catch (error) {
    const replay = formatReplay(seed, "test/ordering.property.test.ts");
    throw new Error(`property failed; replay with:\n  ${replay}\n${String(error)}`, { cause: error });
  }
  for (const key of KINDS) assert.ok(totals[key] > 0, `the workload ran ${key} operations`);
});
