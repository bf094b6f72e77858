/**
 * Strict atomicity (spec/trace.md §4.3): a multicast split by its sender's loss is excused only
 * by a recorded reconciliation fallback, a crashed destination, crashed holders only, a node
 * destroyed first (P4b) or the sender's expiry of the destination before it decided (P4a).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type CheckReport, checkTraces, type Property, runCheckTrace } from "@capbus/checker";
import { FileTraceSink } from "@capbus/trace/node";
import { TraceBuilder } from "./builder.js";

const strict = (b: TraceBuilder): CheckReport => checkTraces(b.traces(), { atomicity: "strict" });
const lenient = (b: TraceBuilder): CheckReport => checkTraces(b.traces());

function only(r: CheckReport, ...expected: Property[]): void {
  const got = [...new Set(r.violations.map((v) => v.property))].sort();
  assert.deepEqual(got, [...expected].sort(), JSON.stringify(r.violations, null, 2));
}

/** A, B and C, A with sessions to B and C (a sender never linked to a destination staged nothing there). */
function linked(): TraceBuilder {
  return new TraceBuilder().start("A", "B", "C").link("A", "B").link("A", "C");
}

/** A multicasts m to B/1 and C/1; B delivers it; C does not. A crashes (no close) unless closed. */
function split(): TraceBuilder {
  return linked().send("A", "m", ["B/1", "C/1"]).deliver("B", "m", "B/1");
}

describe("strict atomicity: excused", () => {
  test("the missing destination recorded a reconciliation fallback", () => {
    const b = split().expire("C", "A").reconcile("C", "m", "A", "fallback").close("B", "C");
    const r = strict(b);
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, fallback (W1)": 1 });
    assert.deepEqual(r.partial, { events: 1, missing: { "fallback (W1)": 1 } });
    assert.equal(r.counts.reconciles, 1);
  });

  test("the missing destination crashed itself", () => {
    const r = strict(split().close("B"));
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, destination crashed": 1 });
  });

  test("every destination that delivered it crashed", () => {
    const r = strict(split().expire("C", "A").close("C"));
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, crashed holders only": 1 });
  });

  test("the sender expired the destination after sending, before it decided (P4a)", () => {
    const r = strict(split().expire("A", "C").expire("C", "A").close("A", "B", "C"));
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, sender expired it first (P4a)": 1 });
  });

  test("the sender's session with the destination had ended before the send (P4a)", () => {
    const b = linked()
      .expire("A", "C")
      .send("A", "m", ["B/1", "C/1"])
      .deliver("B", "m", "B/1")
      .close("A", "B", "C");
    const r = strict(b);
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, sender expired it first (P4a)": 1 });
  });

  test("the destination node was destroyed first (P4b)", () => {
    const b = linked()
      .send("A", "m", ["B/1", "C/1"])
      .destroy("C", "d", ["C/1"])
      .deliver("C", "d", "C/1") // before m's final: the order drops m at C/1
      .deliver("B", "m", "B/1")
      .expire("C", "A")
      .close("B", "C");
    const r = strict(b);
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, node destroyed first (P4b)": 1 });
  });

  test("the sender never had a session with the destination (P4a)", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .link("A", "B")
      .send("A", "m", ["B/1", "C/1"])
      .deliver("B", "m", "B/1")
      .close("A", "B", "C");
    const r = strict(b);
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, sender expired it first (P4a)": 1 });
  });

  test("a reconciliation that dropped an event whose sender decided without it (P4a)", () => {
    const b = split().expire("A", "C").expire("C", "A").reconcile("C", "m", "A", "dropped");
    const r = strict(b.close("A", "B", "C"));
    only(r);
    assert.deepEqual(r.excused, { "partial multicast, sender expired it first (P4a)": 1 });
  });
});

describe("strict atomicity: violations", () => {
  test("the sender crashed between its commits and a live destination has no fallback", () => {
    const b = split().expire("C", "A").close("B", "C");
    const r = strict(b);
    only(r, "P4");
    assert.equal(r.violationCounts.P4, 1);
    assert.deepEqual(r.violations[0]?.peers, ["A", "C"]);
    assert.deepEqual(r.partial.missing, { "sender lost, live reachable": 1 });
    // The same trace in lenient mode (version 1): window W1, excused.
    const l = lenient(b);
    only(l);
    assert.deepEqual(l.excused, { "partial multicast, sender lost (P4a, W1, W3)": 1 });
    assert.deepEqual(l.partial.missing, { "sender lost, live reachable": 1 });
  });

  test("a concurrent destroy the order puts after the multicast's final does not excuse it", () => {
    // C missed the commit and destroyed its node later: the order delivers m first.
    const b = split().expire("C", "A").destroy("C", "d", ["C/1"]).deliver("C", "d", "C/1").close("B", "C");
    const r = strict(b);
    only(r, "P4");
    assert.deepEqual(r.partial.missing, { "sender lost, live reachable": 1 });
    only(lenient(b)); // version 1: excused by the sender's loss
  });

  test("a reconciliation recorded as committed without the delivery", () => {
    const b = split().expire("C", "A").reconcile("C", "m", "A", "committed").close("B", "C");
    only(strict(b), "P4");
  });

  test("the live destinations had expired each other, and no fallback was recorded", () => {
    const b = split().expire("C", "A").expire("C", "B").expire("B", "C").close("B", "C");
    const r = strict(b);
    only(r, "P4");
    assert.deepEqual(r.partial.missing, { "sender lost, live unreachable": 1 });
  });

  test("a reconciliation dropped the event although a live destination delivered it", () => {
    const b = split().expire("C", "A").reconcile("C", "m", "A", "dropped").close("B", "C");
    for (const r of [strict(b), lenient(b)]) {
      only(r, "P4");
      assert.deepEqual(r.violations[0]?.peers, ["A", "C", "B"]);
      assert.deepEqual(r.partial.missing, { "dropped, live holder": 1 });
    }
  });

  test("a dropped reconciliation when only crashed destinations delivered is excused", () => {
    const b = split().expire("C", "A").reconcile("C", "m", "A", "dropped").close("C");
    only(strict(b));
  });

  test("the sender expired the destination only after delivering the event itself", () => {
    // A is a destination too: its own delivery comes after its decision, so an expire after
    // that delivery cannot be why C was left out.
    const b = linked()
      .send("A", "m", ["A/1", "B/1", "C/1"])
      .deliver("A", "m", "A/1")
      .deliver("B", "m", "B/1")
      .expire("A", "C")
      .expire("C", "A")
      .close("A", "B", "C");
    const r = strict(b);
    only(r, "P4");
    assert.deepEqual(r.partial.missing, { "sender lost, live reachable": 1 });
  });

  test("a session the sender expired and linked again before the send does not excuse", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .expire("A", "C")
      .link("A", "C")
      .send("A", "m", ["B/1", "C/1"])
      .deliver("B", "m", "B/1")
      .close("A", "B", "C");
    only(strict(b), "P4");
  });

  test("two reconcile records for one event at one peer contradict each other", () => {
    const b = split()
      .expire("C", "A")
      .reconcile("C", "m", "A", "fallback")
      .reconcile("C", "m", "A", "dropped")
      .close("B", "C");
    only(strict(b), "consistency");
  });
});

describe("check-trace --strict", () => {
  const root = mkdtempSync(join(tmpdir(), "capbus-strict-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  test("the flag turns the sender-lost excuse into a violation", () => {
    const dir = join(root, "split");
    mkdirSync(dir);
    const sinks = new Map<string, FileTraceSink>();
    for (const r of split().expire("C", "A").close("B", "C").records) {
      const sink = sinks.get(r.peer) ?? new FileTraceSink(dir, r.peer);
      sinks.set(r.peer, sink);
      sink.write(r);
    }
    const out: string[] = [];
    const print = (s: string) => out.push(s);
    assert.equal(runCheckTrace([dir], print), 0);
    assert.match(out.pop() ?? "", /partial multicasts 1 \(lenient atomicity\)/);
    assert.equal(runCheckTrace(["--strict", dir], print), 1);
    assert.match(out.pop() ?? "", /sender lost, live reachable 1[\s\S]*\[P4\]/);
    assert.equal(runCheckTrace(["--strict", "--lenient", dir], print), 2);
  });
});
