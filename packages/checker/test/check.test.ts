import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type CheckReport, checkTraces, type Property } from "@capbus/checker";
import { TraceBuilder } from "./builder.js";

const properties = (r: CheckReport): Property[] => [...new Set(r.violations.map((v) => v.property))].sort();

function only(r: CheckReport, ...expected: Property[]): void {
  assert.deepEqual(properties(r), [...expected].sort(), JSON.stringify(r.violations, null, 2));
}

function find(r: CheckReport, property: Property) {
  const v = r.violations.find((x) => x.property === property);
  assert.ok(v, `no ${property} violation in ${JSON.stringify(r.violations, null, 2)}`);
  return v;
}

describe("a correct trace", () => {
  test("multicast, causal chain, destroy with holders and release pass", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      // A multicasts to B and C, passing a handle to its node A/2.
      .send("A", "m1", ["B/1", "C/1"], ["A/2"])
      .deliver("B", "m1", "B/1")
      .deliver("C", "m1", "C/1")
      // B reacts to m1 with m2 to C; C reacts to m2 with m3 to A.
      .send("B", "m2", ["C/1"])
      .deliver("C", "m2", "C/1")
      .send("C", "m3", ["A/1"])
      .deliver("A", "m3", "A/1")
      // C passes B a handle to C/2, which B releases.
      .send("C", "m4", ["B/1"], ["C/2"])
      .deliver("B", "m4", "B/1")
      .release("B", "r1", "C/2")
      .deliver("C", "r1", "C/2")
      // A destroys A/2: the owner and both holders are notified.
      .destroy("A", "d1", ["A/2"])
      .deliver("A", "d1", "A/2")
      .deliver("B", "d1", "A/2")
      .deliver("C", "d1", "A/2")
      .close("A", "B", "C");
    const r = checkTraces(b.traces());
    only(r);
    assert.equal(r.ok, true);
    assert.deepEqual(r.counts.deliveriesByKind, { message: 5, destroyed: 3, released: 1 });
    assert.equal(r.counts.peers, 3);
    assert.equal(r.counts.sends, 4);
    assert.equal(r.counts.crashed, 0);
  });

  test("a handle that arrives dead needs no notification", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .import("C", "A/2")
      .destroy("A", "d1", ["A/2"])
      .deliver("A", "d1", "A/2")
      .deliver("C", "d1", "A/2")
      .send("C", "m1", ["B/1"], ["A/2"])
      .deliver("B", "m1", "B/1", { dead: ["A/2"] })
      .close("A", "B", "C");
    only(checkTraces(b.traces()));
  });
});

describe("P1 total order", () => {
  test("two peers deliver two events in opposite orders", () => {
    const b = new TraceBuilder()
      .start("A", "D", "B", "C")
      .send("A", "e1", ["B/1", "C/1"])
      .send("D", "e2", ["B/1", "C/1"])
      .deliver("B", "e1", "B/1")
      .deliver("B", "e2", "B/1")
      .deliver("C", "e2", "C/1")
      .deliver("C", "e1", "C/1")
      .close("A", "D", "B", "C");
    const v = find(checkTraces(b.traces()), "P1");
    assert.deepEqual([...v.events].sort(), ["e1", "e2"]);
    assert.deepEqual([...v.peers].sort(), ["B", "C"]);
  });

  test("a three-peer cycle with no pairwise conflict", () => {
    const b = new TraceBuilder().start("S", "B", "C", "D");
    b.send("S", "e1", ["B/1", "D/1"]).send("S", "e2", ["B/1", "C/1"]).send("S", "e3", ["C/1", "D/1"]);
    b.deliver("B", "e1", "B/1").deliver("B", "e2", "B/1");
    b.deliver("C", "e2", "C/1").deliver("C", "e3", "C/1");
    b.deliver("D", "e3", "D/1").deliver("D", "e1", "D/1");
    b.close("S", "B", "C", "D");
    const v = find(checkTraces(b.traces()), "P1");
    assert.deepEqual([...v.events].sort(), ["e1", "e2", "e3"]);
  });

  test("two survivors place their own crash notifications differently (W4): no violation", () => {
    // Q held-in nodes of B and C; it crashes. B and C each synthesize a notification under an id
    // of their own (W11), and place it on either side of A's multicast, each in rising ts (W8).
    const b = new TraceBuilder().start("A", "B", "C", "Q");
    b.import("B", "Q/1").import("C", "Q/1");
    b.send("A", "e1", ["B/1", "C/1"]);
    b.expire("B", "Q").expire("C", "Q");
    b.deliver("B", "e1", "B/1", { ts: [5, "A", 1] });
    b.deliver("B", "crash:Q:Q/1:B:10", "Q/1", { kind: "destroyed", ts: [10, "Q", 0] });
    b.deliver("C", "crash:Q:Q/1:C:2", "Q/1", { kind: "destroyed", ts: [2, "Q", 0] });
    b.deliver("C", "e1", "C/1", { ts: [5, "A", 1] });
    b.close("A", "B", "C");
    only(checkTraces(b.traces()));
  });

  test("a crash notification delivered below an earlier delivery breaks W8", () => {
    const b = new TraceBuilder().start("A", "B", "Q");
    b.import("B", "Q/1");
    b.send("A", "e1", ["B/1"]).send("A", "e2", ["B/1"]);
    b.expire("B", "Q");
    b.deliver("B", "e1", "B/1", { ts: [1, "A", 1] });
    b.deliver("B", "crash:Q:Q/1:B:52", "Q/1", { kind: "destroyed", ts: [52, "Q", 0] });
    b.deliver("B", "e2", "B/1", { ts: [51, "A", 2] });
    b.close("A", "B");
    const v = find(checkTraces(b.traces()), "consistency");
    assert.match(v.message, /not in timestamp order/);
    assert.deepEqual(v.events, ["crash:Q:Q/1:B:52", "e2"]);
  });

  test("two survivors' notifications for one loss may share a timestamp (ordering.md §7.1 L1): no violation", () => {
    // B and C each take (clock + 1, Q, 0) from clocks of their own, which may be equal.
    const b = new TraceBuilder().start("B", "C", "Q");
    b.import("B", "Q/1").import("C", "Q/1");
    b.expire("B", "Q").expire("C", "Q");
    b.deliver("B", "crash:Q:Q/1:B:1", "Q/1", { kind: "destroyed", ts: [1, "Q", 0] });
    b.deliver("C", "crash:Q:Q/1:C:1", "Q/1", { kind: "destroyed", ts: [1, "Q", 0] });
    b.close("B", "C");
    only(checkTraces(b.traces()));
  });

  test("a crash notification sharing a timestamp with an event of the global order breaks W8", () => {
    // Only a broken implementation gets here: Q's own events have seq 1 and up, a notice seq 0.
    const b = new TraceBuilder().start("B", "C", "Q");
    b.import("C", "Q/1");
    b.send("Q", "e1", ["B/1"]);
    b.deliver("B", "e1", "B/1", { ts: [4, "Q", 0] });
    b.expire("C", "Q");
    b.deliver("C", "crash:Q:Q/1:C:4", "Q/1", { kind: "destroyed", ts: [4, "Q", 0] });
    b.close("B", "C");
    const v = find(checkTraces(b.traces()), "consistency");
    assert.match(v.message, /share timestamp/);
  });

  test("one crash notification id at two survivors with two timestamps breaks W8", () => {
    const b = new TraceBuilder().start("B", "C", "Q");
    b.import("B", "Q/1").import("C", "Q/1");
    b.expire("B", "Q").expire("C", "Q");
    b.deliver("B", "crash:Q:Q/1", "Q/1", { kind: "destroyed", ts: [10, "Q", 0] });
    b.deliver("C", "crash:Q:Q/1", "Q/1", { kind: "destroyed", ts: [3, "Q", 0] });
    b.close("B", "C");
    const v = find(checkTraces(b.traces()), "consistency");
    assert.match(v.message, /two timestamps/);
  });
});

describe("P2 causality", () => {
  test("trap 1: m0 -> m1 -> m2, but P delivers m2 before m0", () => {
    const b = new TraceBuilder()
      .start("A", "P", "Q")
      .send("A", "m0", ["P/1"])
      .send("A", "m1", ["Q/1"])
      .deliver("Q", "m1", "Q/1")
      .send("Q", "m2", ["P/1"])
      .deliver("P", "m2", "P/1")
      .deliver("P", "m0", "P/1")
      .close("A", "P", "Q");
    const r = checkTraces(b.traces());
    only(r, "P2");
    const v = find(r, "P2");
    assert.deepEqual(v.events, ["m0", "m2"]);
    assert.deepEqual(v.peers, ["P", "A"]);
  });

  test("the same events delivered in causal order pass", () => {
    const b = new TraceBuilder()
      .start("A", "P", "Q")
      .send("A", "m0", ["P/1"])
      .send("A", "m1", ["Q/1"])
      .deliver("Q", "m1", "Q/1")
      .send("Q", "m2", ["P/1"])
      .deliver("P", "m0", "P/1")
      .deliver("P", "m2", "P/1")
      .close("A", "P", "Q");
    only(checkTraces(b.traces()));
  });
});

test("P3 FIFO: one sender's events to one node arrive out of send order", () => {
  const b = new TraceBuilder()
    .start("A", "B")
    .send("A", "a1", ["B/1"])
    .send("A", "a2", ["B/1"])
    .deliver("B", "a2", "B/1")
    .deliver("B", "a1", "B/1")
    .close("A", "B");
  const r = checkTraces(b.traces());
  only(r, "P3");
  assert.deepEqual(find(r, "P3").events, ["a1", "a2"]);
});

describe("P5 after a lost owner", () => {
  test("a lost owner's node comes back live only after a link record (a new session) with it", () => {
    const build = (relinked: boolean) => {
      const b = new TraceBuilder().start("Q", "B", "C");
      b.import("B", "Q/1");
      b.expire("B", "Q");
      b.deliver("B", "crash:Q:Q/1:B:5", "Q/1", { kind: "destroyed", ts: [5, "Q", 0] });
      // B re-linked to Q (a handle's arrival dials its owner) before C's transfer reached it.
      if (relinked) b.records.push({ peer: "B", op: "link", other: "Q" });
      b.send("C", "m1", ["B/1"], ["Q/1"]);
      b.deliver("B", "m1", "B/1", { ts: [6, "C", 1] });
      b.close("Q", "B", "C");
      return checkTraces(b.traces());
    };
    only(build(true));
    find(build(false), "P5");
  });
});
