/**
 * Unheld destroys (spec/ordering.md §9): a `destroy` naming only nodes its receiver neither holds
 * nor has on the way is answered but kept out of the receiver's clock and queue, so a peer holding
 * no capability cannot move either (issue 17); the honest race of spec/ordering.md §11, a destroy reaching the
 * transfer's receiver before the transfer's stage, still ends as the order says.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { CapbusError, type Peer, type PeerEvent } from "@capbus/core";
import { type LinkLatency, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { scripted } from "./support/scripted-peer.js";

/** Clock values per millisecond (H1). */
const TICK = 2 ** 11;

function collect(peer: Peer): PeerEvent[] {
  const events: PeerEvent[] = [];
  void (async () => {
    for await (const event of peer) events.push(event);
  })();
  return events;
}

/** The queue figures of stats() that a capability-less peer must not move. */
const queue = (peer: Peer) => {
  const { depth, staged, oldestStagedMs } = peer.stats().queue;
  return { depth, staged, oldestStagedMs };
};

test("destroys from a peer holding nothing move neither the victim's clock nor its queue, and delay no honest delivery", async () => {
  const world = new SimWorld({ seed: 11, latency: { min: 2, max: 2 } });
  const victim = world.addPeer("V");
  const honest = world.addPeer("H");
  world.link("V", "H");
  await world.run();
  const inbox = victim.createNode();
  const fromHonest = world.give(inbox, "H");
  const attacker = scripted(victim, "X");
  const events = collect(victim);
  const clock = victim.clock;
  const before = queue(victim);
  // The attacker owns nodes 1..100 (anyone owns nodes) and destroys them at the victim, each
  // with a clock 4 s ahead (within the adopt offset: version 2 applied it at once).
  const ahead = clock + 4_000 * TICK;
  for (let event = 1; event <= 100; event++)
    attacker.push({ type: "destroy", event, clock: ahead, nodes: [event] });
  const answers = attacker.answers();
  assert.equal(answers.length, 100);
  for (const a of answers) assert.ok(a.type === "propose" && a.lamport < ahead, JSON.stringify(a));
  assert.equal(victim.clock, clock, "the victim's clock did not move");
  assert.deepEqual(queue(victim), before, "nor its queue");
  // Half committed (far above the clock), half never: still nothing moves.
  for (let event = 1; event <= 50; event++)
    attacker.push({ type: "commit", event, lamport: ahead, dead: [] });
  assert.equal(victim.clock, clock);
  assert.deepEqual(queue(victim), before);
  assert.equal(attacker.link.closed, undefined);

  // An honest send is delivered at link speed, not behind 50 destroys that never commit.
  const sent = honest.send(fromHonest, "honest");
  await world.scheduler.advance(50);
  assert.ok((await sent).ok);
  assert.deepEqual(
    events.map((e) => (e.kind === "message" ? e.payload : e.kind)),
    ["honest"],
  );
  assert.ok(victim.clock < ahead, "the committed destroys' final was never applied");
  attacker.link.remoteClose("E_LINK_BROKEN", "the test is over");
  await world.close();
});

test("an unheld destroy's abort leaves nothing; a commit below its proposal is a protocol error", async () => {
  const world = new SimWorld({ seed: 12, latency: { min: 2, max: 2 } });
  const victim = world.addPeer("V");
  const attacker = scripted(victim, "X");
  const before = queue(victim);
  attacker.push({ type: "destroy", event: 1, clock: victim.clock, nodes: [7] });
  const [proposed] = attacker.answers();
  assert.equal(proposed?.type, "propose");
  assert.deepEqual(queue(victim), before, "kept out of the queue");
  assert.equal(victim.queuedFromOthers.events, 1, "charged to its sender while kept");
  attacker.push({ type: "abort", event: 1 });
  assert.equal(victim.queuedFromOthers.events, 0, "the abort removed it");
  assert.deepEqual(queue(victim), before);
  // A commit for the aborted destroy names nothing staged.
  attacker.push({ type: "commit", event: 1, lamport: victim.clock + 10, dead: [] });
  assert.equal(attacker.link.closed?.code, "E_PROTOCOL");

  const second = scripted(victim, "Y");
  second.push({ type: "destroy", event: 1, clock: victim.clock, nodes: [7] });
  const [p] = second.answers();
  assert.ok(p?.type === "propose");
  second.push({ type: "commit", event: 1, lamport: p.lamport - 1, dead: [] });
  assert.equal(second.link.closed?.code, "E_PROTOCOL", "a final below the proposal");
  assert.equal(victim.queuedFromOthers.events, 0, "its session ended: nothing kept for it");
  await world.close();
});

test("unheld destroys are charged to their sender's share: beyond it, reject E_QUOTA", async () => {
  const world = new SimWorld({ seed: 13, latency: { min: 2, max: 2 } });
  const victim = world.addPeer("V", { quota: { maxQueuedEvents: 16, reservedSenders: 0 } });
  const attacker = scripted(victim, "X");
  for (let event = 1; event <= 40; event++)
    attacker.push({ type: "destroy", event, clock: victim.clock, nodes: [event] });
  const answers = attacker.answers();
  const kept = answers.filter((a) => a.type === "propose").length;
  const refused = answers.filter((a) => a.type === "reject" && a.code === "E_QUOTA").length;
  assert.equal(kept + refused, 40);
  assert.ok(kept > 0 && kept <= 8, `kept ${kept}: at most half the queue for one sender`);
  assert.equal(victim.queuedFromOthers.events, kept);
  assert.equal(victim.stats().quotaRefusals, refused);
  attacker.link.remoteClose("E_LINK_BROKEN", "the test is over");
  await world.run();
  assert.equal(victim.queuedFromOthers.events, 0, "released with the session");
  await world.close();
});

/**
 * The honest race of spec/ordering.md §11: A sends B a message carrying P's node n; P counts B (the
 * notice) and destroys n at once; P's link to B is fast, A's slow, so the destroy reaches B
 * before the transfer's stage, while B holds nothing.
 */
async function race(latencies: { ap: LinkLatency; ab: LinkLatency }, pOffsetMs = 0) {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 14, latency: { min: 5, max: 5 }, traceFor: () => traces });
  const a = w.addPeer("A");
  const b = w.addPeer("B");
  const p = w.addPeer("P", { wallOffsetMs: pOffsetMs });
  w.link("A", "P", latencies.ap);
  w.link("A", "B", latencies.ab);
  w.link("P", "B", { min: 5, max: 5 });
  await w.run();
  const n = p.createNode();
  const inbox = b.createNode();
  const aToN = w.give(n, "A");
  const aToB = w.give(inbox, "A");
  const sent = a.send(aToB, "T", { handles: [aToN] });
  let destroyed: Promise<unknown> | undefined;
  // B just after the destroy reached it (P-B takes 5 ms), before the transfer's stage did.
  let atB: { depth: number; staged: number; kept: number } | undefined;
  // P destroys as soon as the notice has counted B (B's reference to n).
  const poll = () => {
    if (p.stats().tables.holders < 2) return void w.scheduler.setTimer(1, poll);
    destroyed = p.destroy(n);
    w.scheduler.setTimer(8, () => {
      const { depth, staged } = b.stats().queue;
      atB = { depth, staged, kept: b.queuedFromOthers.events };
    });
  };
  poll();
  await w.run();
  await destroyed;
  const result = await sent;
  assert.ok(result.ok, JSON.stringify(result));
  const delivered = (traces.byPeer.get("B") ?? []).flatMap((r) => {
    if (r.op !== "deliver") return [];
    if (r.kind !== "message") return [`${r.kind}:${r.node}`];
    const handles = [...r.handles.map((h) => `${h}:live`), ...r.dead.map((h) => `${h}:dead`)];
    return [`${r.kind}:${r.node}[${handles.join(",")}]`];
  });
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
  return { delivered, atB };
}

/** B kept the destroy out of its queue while it held nothing (before: a staged entry). */
function keptOut(atB: { depth: number; staged: number; kept: number } | undefined): void {
  assert.deepEqual(atB, { depth: 0, staged: 0, kept: 1 }, "the destroy is kept, unheld, out of B's queue");
}

test("destroy before the transfer's stage, transfer ordered first: the handle arrives live, then one destroyed", async () => {
  // Stage A->B at +70 after the destroy at B (+56), before its commit (+156): promoted; the
  // transfer decides (+140) before the destroy's pick (+151).
  const { delivered, atB } = await race({ ap: { min: 50, max: 50 }, ab: { min: 70, max: 70 } });
  keptOut(atB);
  assert.deepEqual(delivered, ["message:B/1[P/1:live]", "destroyed:P/1"]);
});

test("destroy before the transfer's stage, destroy ordered first: the handle arrives dead, nothing else", async () => {
  // Stage at +100, promoted; the transfer decides at +200, after the destroy's pick.
  const { delivered, atB } = await race({ ap: { min: 50, max: 50 }, ab: { min: 100, max: 100 } });
  keptOut(atB);
  assert.deepEqual(delivered, ["message:B/1[P/1:dead]"]);
});

test("an unheld destroy committed before the transfer's stage: the transfer is proposed above it, and arrives dead", async () => {
  // P's wall clock 3 s ahead: the destroy's final is above B's clock, which never applied it.
  // The destroy commits at B (+106) before the stage (+120), and at A (+201) after A decided
  // the transfer (+125): only B's proposal, raised above the tombstone, orders it after.
  const { delivered, atB } = await race(
    {
      ap: { aToB: { min: 1, max: 1 }, bToA: { min: 100, max: 100 } },
      ab: { aToB: { min: 120, max: 120 }, bToA: { min: 5, max: 5 } },
    },
    3_000,
  );
  keptOut(atB);
  assert.deepEqual(delivered, ["message:B/1[P/1:dead]"]);
});

test("a destroy reaching B while the transfer is queued there is not unheld: live, then one destroyed", async () => {
  // The stage is at B at +5, undecided; the destroy comes at +25 and must stage behind it, or
  // its commit would find the transfer delivered with a live handle and tell B nothing.
  const { delivered, atB } = await race({ ap: { min: 20, max: 20 }, ab: { min: 5, max: 5 } });
  assert.deepEqual(atB, { depth: 2, staged: 2, kept: 1 }, "both staged (the transfer is charged)");
  assert.deepEqual(delivered, ["message:B/1[P/1:live]", "destroyed:P/1"]);
});

test("an import while an unheld destroy of the node is undecided fails with E_DESTROYED", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 15, latency: { min: 5, max: 5 }, traceFor: () => traces });
  const owner = w.addPeer("O");
  const holder = w.addPeer("B");
  w.link("O", "B");
  await w.run();
  const node = owner.createNode();
  const grant = owner.grant(node, "B"); // B is counted; it has not imported the grant yet
  const destroyed = owner.destroy(node);
  await w.scheduler.advance(6); // the destroy is at B, its commit is not
  assert.equal(holder.queuedFromOthers.events, 1);
  assert.throws(
    () => holder.importHandle(grant),
    (e: unknown) => e instanceof CapbusError && e.code === "E_DESTROYED",
  );
  await w.run();
  await destroyed;
  assert.throws(
    () => holder.importHandle(grant),
    (e: unknown) => e instanceof CapbusError && e.code === "E_DESTROYED",
  );
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});
