import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type CheckReport, checkTraces, type Property } from "@capbus/checker";
import { TraceBuilder } from "./builder.js";

const properties = (r: CheckReport): Property[] => [...new Set(r.violations.map((v) => v.property))].sort();

function only(r: CheckReport, ...expected: Property[]): void {
  assert.deepEqual(properties(r), [...expected].sort(), JSON.stringify(r.violations, null, 2));
}

/** A multicasts m to B/1 and C/1; only B delivers it. */
function partial(): TraceBuilder {
  return new TraceBuilder().start("A", "B", "C").send("A", "m", ["B/1", "C/1"]).deliver("B", "m", "B/1");
}

describe("P4 multicast atomicity", () => {
  test("delivered at one of two live destinations", () => {
    const r = checkTraces(partial().close("A", "B", "C").traces());
    only(r, "P4");
    assert.deepEqual(r.violations[0]?.peers, ["A", "C"]);
  });

  test("excused: the missing destination crashed", () => {
    const r = checkTraces(partial().close("A", "B").traces());
    only(r);
    assert.deepEqual(r.excused, { "destination crashed or expired": 1 });
    assert.equal(r.counts.crashed, 1);
  });

  test("excused: the sender crashed between its commits (trap 3)", () => {
    const r = checkTraces(partial().close("B", "C").traces());
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, sender lost (P4a, W1, W3)": 1 });
  });

  test("excused: the session between sender and destination expired", () => {
    const r = checkTraces(partial().expire("C", "A").close("A", "B", "C").traces());
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, sender lost (P4a, W1, W3)": 1 });
  });

  test("excused: the destination node was destroyed concurrently", () => {
    const b = partial().destroy("C", "d", ["C/1"]).deliver("C", "d", "C/1").close("A", "B", "C");
    const r = checkTraces(b.traces());
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, node destroyed first (P4b)": 1 });
  });

  test("not excused: the destroy happened after the send (m -> d)", () => {
    const b = partial()
      .send("A", "x", ["C/1"])
      .deliver("C", "x", "C/1")
      .destroy("C", "d", ["C/1"])
      .deliver("C", "d", "C/1")
      .close("A", "B", "C");
    only(checkTraces(b.traces()), "P4");
  });

  test("an aborted event is delivered", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .send("A", "m", ["B/1"])
      .abort("A", "m")
      .deliver("B", "m", "B/1")
      .close("A", "B");
    only(checkTraces(b.traces()), "P4");
  });

  test("an aborted event delivered nowhere passes", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .send("A", "m", ["B/1", "A/1"])
      .abort("A", "m")
      .close("A", "B");
    only(checkTraces(b.traces()));
  });

  // Refused sends (spec/guarantees.md §2.1, trace.md W10): the sender records `abort`.
  test("a unicast its destination refused (abort, no delivery) is clean, not lost", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .send("A", "m", ["B/1"])
      .abort("A", "m")
      .send("A", "n", ["B/1"])
      .deliver("B", "n", "B/1")
      .close("A", "B");
    const r = checkTraces(b.traces());
    only(r);
    assert.equal(r.counts.aborts, 1);
    assert.deepEqual(r.excused, {});
  });

  test("a multicast one destination refused, aborted everywhere, is clean", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .send("A", "m", ["C/1", "B/1", "C/2"])
      .abort("A", "m")
      .close("A", "B", "C");
    const r = checkTraces(b.traces());
    only(r);
    assert.deepEqual(r.excused, {});
  });

  test("an aborted multicast delivered at one destination is P4, whatever happened to the others", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .send("A", "m", ["B/1", "C/1"])
      .abort("A", "m")
      .deliver("B", "m", "B/1")
      .close("A", "B"); // C crashed: that excuses a missing delivery, not a delivered abort
    const r = checkTraces(b.traces());
    only(r, "P4");
    assert.equal(r.violations.length, 1);
    assert.deepEqual(r.violations[0]?.peers, ["B", "A"]);
  });
});

describe("P5 notification order", () => {
  /** B holds A/2 (from a message); A destroys it. */
  function held(): TraceBuilder {
    return new TraceBuilder()
      .start("A", "B")
      .send("A", "m", ["B/1"], ["A/2"])
      .deliver("B", "m", "B/1")
      .destroy("A", "d1", ["A/2"])
      .deliver("A", "d1", "A/2");
  }

  test("a holder misses its destroyed notification", () => {
    const r = checkTraces(held().close("A", "B").traces());
    only(r, "P5");
    assert.deepEqual(r.violations[0]?.events, ["d1"]);
    assert.deepEqual(r.violations[0]?.peers, ["B", "A"]);
  });

  test("the owner misses its own destroyed notification", () => {
    const b = new TraceBuilder().start("A").destroy("A", "d1", ["A/2"]).close("A");
    only(checkTraces(b.traces()), "P5");
  });

  test("two destroyed notifications for one node", () => {
    const b = held()
      .deliver("B", "d1", "A/2")
      .destroy("A", "d2", ["A/2"])
      .deliver("A", "d2", "A/2")
      .deliver("B", "d2", "A/2")
      .close("A", "B");
    const r = checkTraces(b.traces());
    only(r, "P5");
    assert.deepEqual(r.violationCounts.P5, 2); // at A and at B
  });

  test("a message to the owner after its destroyed notification", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .destroy("A", "d1", ["A/1"])
      .deliver("A", "d1", "A/1")
      .send("B", "m", ["A/1"])
      .deliver("A", "m", "A/1")
      .close("A", "B");
    only(checkTraces(b.traces()), "P5");
  });

  test("a live handle delivered after the destroyed notification", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .import("B", "A/2")
      .import("C", "A/2")
      .destroy("A", "d1", ["A/2"])
      .deliver("A", "d1", "A/2")
      .deliver("B", "d1", "A/2")
      .deliver("C", "d1", "A/2")
      .send("C", "m", ["B/1"], ["A/2"])
      .deliver("B", "m", "B/1")
      .close("A", "B", "C");
    const r = checkTraces(b.traces());
    only(r, "P5");
    assert.match(r.violations[0]?.message ?? "", /live handle/);
  });

  test("the owner's release notification follows the destroyed one", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .import("B", "A/2")
      .destroy("A", "d1", ["A/2"])
      .deliver("A", "d1", "A/2")
      .release("B", "r1", "A/2")
      .deliver("B", "d1", "A/2")
      .deliver("A", "r1", "A/2")
      .close("A", "B");
    only(checkTraces(b.traces()), "P5");
  });

  test("a notification for a handle never held", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .send("A", "m", ["B/1"], ["A/2"])
      .deliver("B", "m", "B/1")
      .destroy("A", "d1", ["A/2"])
      .deliver("A", "d1", "A/2")
      .deliver("B", "d1", "A/2")
      .deliver("C", "d1", "A/2")
      .close("A", "B", "C");
    const r = checkTraces(b.traces());
    only(r, "P5");
    assert.deepEqual(r.violations[0]?.peers, ["C"]);
  });

  test("a holder that released before the destroy needs no notification", () => {
    const b = held().release("B", "r1", "A/2").close("A", "B");
    const r = checkTraces(b.traces());
    // A never delivers r1: a release owes a delivery only when it drops the last reference.
    only(r);
    assert.deepEqual(r.excused, {});
  });
});

describe("P6 and consistency", () => {
  test("the same (event, node) delivered twice", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .send("A", "m", ["B/1"])
      .deliver("B", "m", "B/1")
      .deliver("B", "m", "B/1")
      .close("A", "B");
    only(checkTraces(b.traces()), "P6");
  });

  test("a delivery of an event no trace created", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .deliver("B", "A:9", "B/1", { kind: "message", ts: [1, "A", 9] })
      .close("A", "B");
    only(checkTraces(b.traces()), "P6");
  });

  test("a unicast delivered nowhere is lost", () => {
    const b = new TraceBuilder().start("A", "B").send("A", "m", ["B/1"]).close("A", "B");
    only(checkTraces(b.traces()), "P6");
  });

  test("a synthesized notification for a crashed owner's node is excused", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .import("B", "A/2")
      .deliver("B", "B:x", "A/2", { kind: "destroyed", ts: [4, "A", 0] })
      .close("B");
    const r = checkTraces(b.traces());
    only(r);
    assert.deepEqual(r.excused, { "synthesized notification": 1 });
  });

  test("a delivery that precedes its own send causally is reported, not hung on", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .deliver("A", "x", "A/1", { kind: "message", ts: [1, "B", 1] })
      .deliver("B", "m", "B/1", { kind: "message", ts: [2, "A", 1] })
      .send("A", "m", ["B/1"])
      .send("B", "x", ["A/1"])
      .close("A", "B");
    const r = checkTraces(b.traces());
    assert.ok(r.violations.some((v) => v.property === "consistency" && /causal cycle/.test(v.message)));
  });

  test("deliveries with disagreeing timestamps", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .send("A", "m", ["B/1", "C/1"])
      .deliver("B", "m", "B/1", { ts: [1, "A", 1] })
      .deliver("C", "m", "C/1", { ts: [2, "A", 1] })
      .close("A", "B", "C");
    only(checkTraces(b.traces()), "consistency");
  });
});
