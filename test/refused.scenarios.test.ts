/**
 * Refused sends (issue 16; spec/ordering.md §3.3, spec/guarantees.md P4): a destination that
 * refuses an event (a `reject`: quota, no handle, no node) makes the sender abort it everywhere.
 * The event is delivered nowhere, the trace records `abort`, and the result names each
 * destination's code.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import type { Handle, Peer, SendResult } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

/** A world whose peers share one trace sink; `check` runs the checker on it. */
function world(seed: number) {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed, latency: { min: 1, max: 4 }, traceFor: () => traces });
  const check = () => {
    const report = checkTraces(traces.byPeer);
    assert.ok(report.ok, formatReport(report));
    return report;
  };
  return { w, traces, check };
}

async function settle(w: SimWorld, sent: Promise<SendResult>): Promise<SendResult> {
  let done = false;
  void sent.then(
    () => (done = true),
    () => (done = true),
  );
  await w.run({ until: () => done });
  return sent;
}

/** What the result says of each destination: `node:committed:code`. */
const outcomes = (r: SendResult) => r.destinations.map((d) => `${d.node}:${d.committed}:${d.code ?? "-"}`);

/** The events `peer` recorded as `op`: aborts, or deliveries of messages. */
function recorded(traces: MemoryTraceSink, peer: string, op: "abort" | "deliver"): string[] {
  return (traces.byPeer.get(peer) ?? []).flatMap((r) =>
    r.op === op && (r.op !== "deliver" || r.kind === "message") ? [r.event] : [],
  );
}

/** C accepts at most 2 unread events from one sender (a quota of 4 in all, half each). */
const SMALL_QUOTA = { quota: { maxQueuedEvents: 4 } } as const;

/** Fill C's quota for S: two unicasts C does not read. */
async function fillQuota(w: SimWorld, s: Peer, toC: Handle): Promise<void> {
  for (const n of [1, 2]) assert.ok((await settle(w, s.send(toC, `fill ${n}`))).ok);
}

test("a unicast refused for quota is aborted: an abort record, the checker clean, nothing undecided", async () => {
  const { w, traces, check } = world(21);
  const s = w.addPeer("S");
  const c = w.addPeer("C", SMALL_QUOTA);
  w.linkAll();
  const toC = w.give(c.createNode(), "S");
  await fillQuota(w, s, toC);
  const refused = await settle(w, s.send(toC, "one too many"));
  assert.deepEqual(outcomes(refused), ["C/1:false:E_QUOTA"]);
  assert.equal(refused.ok, false);
  assert.equal(refused.ts, undefined);
  assert.deepEqual(recorded(traces, "S", "abort"), [refused.event], "the sender records the abort (W10)");
  assert.equal(s.stats().events.undecided, 0);
  await w.close();
  assert.ok(!recorded(traces, "C", "deliver").includes(refused.event));
  check();
});

test("a staged unicast (carrying a handle) refused for quota is aborted too", async () => {
  const { w, traces, check } = world(22);
  const s = w.addPeer("S");
  const c = w.addPeer("C", SMALL_QUOTA);
  w.linkAll();
  const toC = w.give(c.createNode(), "S");
  await fillQuota(w, s, toC);
  const own = s.createNode();
  const refused = await settle(w, s.send(toC, "with a handle", { handles: [own.handle] }));
  assert.deepEqual(outcomes(refused), ["C/1:false:E_QUOTA"]);
  assert.deepEqual(recorded(traces, "S", "abort"), [refused.event]);
  await w.run();
  assert.equal(s.stats().events.undecided, 0);
  // The reference S counted for C is given back: S's node has no outside holder again.
  const released = s.poll();
  assert.equal(released?.kind === "released" && released.node, own);
  await w.close();
  check();
});

test("a multicast with one destination over quota is delivered nowhere; the result names each code", async () => {
  const { w, traces, check } = world(23);
  const s = w.addPeer("S");
  const b = w.addPeer("B");
  const c = w.addPeer("C", SMALL_QUOTA);
  w.linkAll();
  const toB = w.give(b.createNode(), "S");
  const toC = w.give(c.createNode(), "S");
  await fillQuota(w, s, toC);
  const sent = await settle(w, s.send([toB, toC], "to both"));
  assert.deepEqual(outcomes(sent), ["B/1:false:E_REFUSED_ELSEWHERE", "C/1:false:E_QUOTA"]);
  assert.equal(sent.ok, false);
  assert.equal(sent.ts, undefined);
  assert.deepEqual(recorded(traces, "S", "abort"), [sent.event]);
  assert.equal(s.stats().events.undecided, 0);
  // B staged it and got the abort: nothing is left to deliver, and B's queue is not blocked.
  const after = await settle(w, s.send(toB, "after"));
  assert.ok(after.ok);
  assert.deepEqual(
    [b.poll(), b.poll()].map((e) => e?.kind === "message" && e.payload),
    ["after", false],
  );
  assert.equal(b.stats().queue.staged, 0);
  await w.close();
  assert.ok(!recorded(traces, "B", "deliver").includes(sent.event), "B never delivers it");
  check();
});

test("a refused multicast carrying a third peer's handle gives back the references its owner counted", async () => {
  const { w, traces, check } = world(27);
  const s = w.addPeer("S");
  const b = w.addPeer("B");
  const c = w.addPeer("C", SMALL_QUOTA);
  const p = w.addPeer("P");
  w.linkAll();
  const toB = w.give(b.createNode(), "S");
  const toC = w.give(c.createNode(), "S");
  const pNode = p.createNode();
  const toP = w.give(pNode, "S");
  await fillQuota(w, s, toC);
  const sent = await settle(w, s.send([toB, toC], "with P's handle", { handles: [toP] }));
  assert.deepEqual(outcomes(sent), ["B/1:false:E_REFUSED_ELSEWHERE", "C/1:false:E_QUOTA"]);
  await w.run();
  // P counted a reference for B and one for C when it answered the notice; both came back, so
  // S's own release is the last outside reference.
  toP.release();
  await w.run();
  const released = p.poll();
  assert.equal(released?.kind === "released" && released.node, pNode);
  await w.close();
  assert.deepEqual(recorded(traces, "B", "deliver"), []);
  check();
});

test("a multicast with a destination the sender holds no handle to is delivered nowhere", async () => {
  const { w, traces, check } = world(24);
  const s = w.addPeer("S");
  const b = w.addPeer("B");
  const c = w.addPeer("C");
  w.linkAll();
  const toB = w.give(b.createNode(), "S");
  const secret = c.createNode();
  // S writes itself a grant C never made: its own peer takes it, the owner refuses it.
  const forged = s.importHandle({ owner: "C", node: secret.id, holder: "S" });
  const sent = await settle(w, s.send([forged, toB], "to both"));
  assert.deepEqual(outcomes(sent), ["C/1:false:E_NO_HANDLE", "B/1:false:E_REFUSED_ELSEWHERE"]);
  assert.deepEqual(recorded(traces, "S", "abort"), [sent.event]);
  await w.close();
  assert.deepEqual(recorded(traces, "B", "deliver"), []);
  check();
});

test("a multicast naming two nodes of one owner, one of them bad: the result names the bad one", async () => {
  const { w, traces, check } = world(25);
  const s = w.addPeer("S");
  const b = w.addPeer("B");
  const c = w.addPeer("C");
  w.linkAll();
  const toB = w.give(b.createNode(), "S");
  const toC1 = w.give(c.createNode(), "S");
  const secret = c.createNode();
  const forged = s.importHandle({ owner: "C", node: secret.id, holder: "S" });
  const sent = await settle(w, s.send([toC1, toB, forged], "three nodes"));
  assert.deepEqual(outcomes(sent), [
    "C/1:false:E_REFUSED_ELSEWHERE",
    "B/1:false:E_REFUSED_ELSEWHERE",
    "C/2:false:E_NO_HANDLE",
  ]);
  await w.close();
  assert.deepEqual([...recorded(traces, "B", "deliver"), ...recorded(traces, "C", "deliver")], []);
  check();
});

test("a destination lost mid-round is still excused: the others deliver (P4a)", async () => {
  const { w, traces, check } = world(26);
  const s = w.addPeer("S");
  const b = w.addPeer("B");
  const c = w.addPeer("C");
  w.linkAll();
  const toB = w.give(b.createNode(), "S");
  const toC = w.give(c.createNode(), "S");
  const sent = s.send([toB, toC], "to both");
  // C goes away before it answers: its session with S ends (grace 0 on simulated links).
  c.abort();
  const result = await settle(w, sent);
  assert.deepEqual(outcomes(result), ["B/1:true:-", "C/1:false:E_LINK_CLOSED"]);
  assert.notEqual(result.ts, undefined);
  assert.deepEqual(recorded(traces, "S", "abort"), []);
  await w.close();
  assert.deepEqual(recorded(traces, "B", "deliver"), [result.event]);
  check();
});
