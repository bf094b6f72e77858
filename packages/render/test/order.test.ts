/**
 * The layout of real runs (seeded workloads of the peer engine on the simulator): along every lane
 * the marks keep the peer's own order, and deliveries keep the order of their final timestamps.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces } from "@capbus/checker";
import { layoutRun } from "@capbus/render";
import { runWorkload } from "../../../test/support/workload.js";

for (const seed of [1, 2, 3]) {
  test(`seed ${seed}: each lane's marks in the lane's order, deliveries in timestamp order`, async () => {
    const run = await runWorkload({ seed, peers: 4, operations: 60 });
    const traces = run.traces.byPeer;
    const report = checkTraces(traces);
    assert.ok(report.ok);
    const layout = layoutRun(traces, report);
    assert.equal(layout.arrows.length, report.counts.deliveries, "one arrow per delivery");
    layout.lanes.forEach((lane, l) => {
      const steps = layout.steps.filter((s) => s.lane === l);
      const deliveries = layout.deliveries.filter((d) => d.lane === l);
      let previous: { x: number; event: string; delivery: boolean } | undefined;
      for (const r of traces.get(lane.peer)!) {
        const delivery = r.op === "deliver";
        if (!delivery && r.op !== "send" && r.op !== "destroy" && r.op !== "release" && r.op !== "expire")
          continue;
        const mark = delivery ? deliveries.shift()! : steps.shift()!;
        assert.ok(mark, `${lane.peer}: a mark for every drawn record`);
        if (previous !== undefined) {
          const sameColumn = delivery && previous.delivery && previous.event === mark.event;
          if (sameColumn) assert.equal(mark.x, previous.x);
          else assert.ok(mark.x > previous.x, `${lane.peer}: ${mark.event} right of ${previous.event}`);
        }
        previous = { x: mark.x, event: mark.event, delivery };
      }
      assert.equal(steps.length + deliveries.length, 0);
    });
    for (const a of layout.arrows) assert.ok(a.x1 < a.x2, `${a.event}: sent before delivered`);
  });
}
