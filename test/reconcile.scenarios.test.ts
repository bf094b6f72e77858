/**
 * Reconciliation (spec/ordering.md §16): a multicast's sender dies while sending its commits, and
 * its destinations settle the event among themselves. The sender is a scripted peer (raw frames)
 * so it can commit at some destinations and die before the others; the destinations are real
 * peers on the simulated network.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import {
  compareTimestamps,
  finalStatement,
  Identity,
  type Node,
  type Peer,
  type PeerEvent,
  type Timestamp,
} from "@capbus/core";
import { type LinkLatency, SimWorld } from "@capbus/sim";
import { MemoryTraceSink, type TraceRecord } from "@capbus/trace";
import type { Frame } from "@capbus/wire";
import { scripted } from "./support/scripted-peer.js";

type Scripted = ReturnType<typeof scripted>;

const FAST: LinkLatency = { min: 1, max: 1 };

/** Run the network a while, letting real promises (signature checks) settle in between. */
async function settle(w: SimWorld, rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await w.run({ maxTime: 20 });
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Step the network 1 ms at a time until `done` (real promises settle between steps): the ms it took. */
async function until(w: SimWorld, done: () => boolean, maxMs = 5_000): Promise<number> {
  const start = w.scheduler.now();
  while (!done() && w.scheduler.now() - start < maxMs) {
    await w.run({ maxTime: 1 });
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(done(), "decided in time");
  return w.scheduler.now() - start;
}

function messages(peer: Peer): string[] {
  const out: string[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) if (e.kind === "message") out.push(String(e.payload));
  return out;
}

function drain(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

function reconciles(traces: MemoryTraceSink, peer: string): Extract<TraceRecord, { op: "reconcile" }>[] {
  return (traces.byPeer.get(peer) ?? []).filter(
    (r): r is Extract<TraceRecord, { op: "reconcile" }> => r.op === "reconcile",
  );
}

function checked(traces: MemoryTraceSink): void {
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
}

interface Destination {
  readonly peer: Peer;
  readonly node: Node;
  readonly s: Scripted;
}

/** Destinations `ids`, all linked, each with a node the scripted sender `sender` holds a handle to. */
async function destinations(
  w: SimWorld,
  ids: readonly string[],
  sender: string,
  identity?: Identity,
): Promise<Destination[]> {
  for (const id of ids) w.addPeer(id);
  w.linkAll(FAST);
  const out = ids.map((id) => {
    const peer = w.peer(id);
    const node = peer.createNode();
    peer.grant(node, sender);
    return { peer, node, s: scripted(peer, sender, identity) };
  });
  await Promise.all(out.map((d) => d.s.ready));
  await w.run({ maxTime: 50 });
  return out;
}

/** Stage event `event` at each destination with this receivers list; their proposals. */
function stage(ds: readonly Destination[], event: number, payload: string, receivers: string[]): number[] {
  return ds.map((d) => {
    d.s.push({ type: "stage", event, clock: 0, nodes: [d.node.id], payload, handles: [], receivers });
    const answer = d.s.answers().find((f) => f.type === "propose" && f.event === event);
    assert.ok(answer && answer.type === "propose", `${d.peer.id} proposes`);
    return answer.lamport;
  });
}

async function signed(identity: Identity, event: number, lamport: number): Promise<Uint8Array> {
  return identity.sign(
    finalStatement(identity.id, { lamport, first: event, last: event, skip: [], dead: [] }),
  );
}

function crash(ds: readonly Destination[]): void {
  for (const d of ds) if (!d.s.link.closed) d.s.link.remoteClose("E_LINK_BROKEN", "the sender died");
}

for (const count of [2, 3]) {
  test(`the sender dies after committing at one of ${count} destinations: the others commit by reconciliation, at its final, in one order`, async (t) => {
    const traces = new MemoryTraceSink();
    const w = new SimWorld({ seed: 3, latency: FAST, traceFor: () => traces });
    const identity = await Identity.generate();
    const ids = ["D1", "D2", "D3"].slice(0, count);
    w.addPeer("H");
    const ds = await destinations(w, ids, identity.id, identity);
    const fromH = ds.map((d) => w.give(d.node, "H"));
    const proposals = stage(ds, 1, "e", ids);
    // An honest multicast staged behind it everywhere: the order of the two is checked.
    const m = w.peer("H").send(fromH, "m");
    await w.run({ maxTime: 20 });
    const final = Math.max(...proposals) + 1;
    const [first] = ds as [Destination];
    first.s.push({
      type: "commit",
      event: 1,
      lamport: final,
      dead: [],
      sig: await signed(identity, 1, final),
    });
    const before = ds.map((d) => d.peer.stats().links);
    crash(ds);
    const others = ds.slice(1);
    const blocked = await until(w, () => others.every((d) => d.peer.stats().reconciliations.committed === 1));
    await settle(w);
    assert.ok((await m).ok);
    const orders = ds.map((d) => {
      const events = drain(d.peer).filter((e) => e.kind === "message");
      return events.map((e) => `${String(e.kind === "message" && e.payload)}@${e.ts.lamport}`);
    });
    for (const order of orders) assert.deepEqual(order, orders[0], "one order everywhere");
    assert.ok(orders[0]?.includes(`e@${final}`), "e delivered at the sender's final");
    for (const d of ds.slice(1)) {
      assert.deepEqual(d.peer.stats().reconciliations, { committed: 1, dropped: 0, fallback: 0 });
      const [record] = reconciles(traces, d.peer.id);
      assert.equal(record?.outcome, "committed");
    }
    // Cost: frames between the destinations after the crash, and how long their queues waited.
    let frames = 0;
    ds.forEach((d, i) => {
      for (const other of ids) {
        if (other === d.peer.id) continue;
        frames += (d.peer.stats().links[other]?.framesOut ?? 0) - (before[i]?.[other]?.framesOut ?? 0);
      }
    });
    t.diagnostic(`frames between destinations after the crash: ${frames}; queues blocked ${blocked} ms`);
    await w.close();
    checked(traces);
  });
}

test("abort then crash: the receiver that still held it asks, hears gone, and drops it", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 4, latency: FAST, traceFor: () => traces });
  const ds = await destinations(w, ["D1", "D2"], "S");
  stage(ds, 1, "e", ["D1", "D2"]);
  ds[0]?.s.push({ type: "abort", event: 1 });
  crash(ds);
  await settle(w);
  assert.deepEqual(messages(w.peer("D1")), []);
  assert.deepEqual(messages(w.peer("D2")), []);
  assert.deepEqual(w.peer("D2").stats().reconciliations, { committed: 0, dropped: 1, fallback: 0 });
  assert.equal(reconciles(traces, "D2")[0]?.outcome, "dropped");
  assert.equal(w.peer("D2").stats().queue.staged, 0);
  await w.close();
  checked(traces);
});

test("relay (R5): the only committed destination answers one asker and dies; that asker tells the other", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 5, latency: FAST, traceFor: () => traces });
  for (const id of ["D1", "D2", "D3"]) w.addPeer(id);
  // D3's query to D1 is slow: D1 is gone before it arrives.
  w.link("D1", "D2", FAST);
  w.link("D2", "D3", FAST);
  w.link("D1", "D3", { min: 100, max: 100 });
  const ds = ["D1", "D2", "D3"].map((id) => {
    const peer = w.peer(id);
    const node = peer.createNode();
    peer.grant(node, "S");
    return { peer, node, s: scripted(peer, "S") };
  });
  await w.run({ maxTime: 300 });
  const proposals = stage(ds, 1, "e", ["D1", "D2", "D3"]);
  const final = Math.max(...proposals) + 1;
  ds[0]?.s.push({ type: "commit", event: 1, lamport: final, dead: [] });
  crash(ds);
  await w.run({ maxTime: 10 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  await w.run({ maxTime: 10 });
  w.peer("D1").abort(); // D1 dies: D3's query to it is never answered
  await settle(w, 30);
  assert.deepEqual(messages(w.peer("D2")), ["e"]);
  assert.deepEqual(messages(w.peer("D3")), ["e"], "D3 got the final from D2, which had told it fenced");
  assert.deepEqual(w.peer("D3").stats().reconciliations, { committed: 1, dropped: 0, fallback: 0 });
  await w.close();
  checked(traces);
});

test("a final below the asker's proposal: the sender decided without it, so it drops the event", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 6, latency: FAST, traceFor: () => traces });
  w.addPeer("D1");
  w.addPeer("D2", { wallOffsetMs: 1000 }); // its proposals are a second ahead of D1's
  w.linkAll(FAST);
  const ds = ["D1", "D2"].map((id) => {
    const peer = w.peer(id);
    const node = peer.createNode();
    peer.grant(node, "S");
    return { peer, node, s: scripted(peer, "S") };
  });
  await w.run({ maxTime: 50 });
  const [p1, p2] = stage(ds, 1, "e", ["D1", "D2"]) as [number, number];
  assert.ok(p1 + 1 < p2);
  ds[0]?.s.push({ type: "commit", event: 1, lamport: p1 + 1, dead: [] });
  crash(ds);
  await settle(w);
  assert.deepEqual(messages(w.peer("D1")), ["e"]);
  assert.deepEqual(messages(w.peer("D2")), []);
  assert.deepEqual(w.peer("D2").stats().reconciliations, { committed: 0, dropped: 1, fallback: 0 });
  assert.equal(reconciles(traces, "D2")[0]?.outcome, "dropped");
  await w.close();
  checked(traces);
});

test("a forged committed answer (bad signature, another event, an unlisted peer) is refused: queue and clock unchanged", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 7, latency: FAST, traceFor: () => traces });
  const identity = await Identity.generate();
  const refused: string[] = [];
  const d1 = w.addPeer("D1", {
    logger: {
      warn: (_message, fields) => void (typeof fields?.code === "string" && refused.push(fields.code)),
    },
  });
  const node = d1.createNode();
  d1.grant(node, identity.id);
  const s = scripted(d1, identity.id, identity);
  const x = scripted(d1, "X"); // a hostile co-destination
  const y = scripted(d1, "Y"); // a stranger, not listed
  await s.ready;
  await w.run({ maxTime: 50 });
  s.push({
    type: "stage",
    event: 1,
    clock: 0,
    nodes: [node.id],
    payload: "e",
    handles: [],
    receivers: ["D1", "X"],
  });
  const got = s.answers();
  const propose = got.find((f) => f.type === "propose");
  assert.ok(propose?.type === "propose");
  s.link.remoteClose("E_LINK_BROKEN", "the sender died");
  await w.run({ maxTime: 10 });
  const query = x.answers().find((f) => f.type === "query");
  assert.deepEqual(
    query && { sender: query.type === "query" && query.sender, event: query.type === "query" && query.event },
    { sender: identity.id, event: 1 },
  );
  const forged = propose.lamport + 1000 * 2048; // a second ahead: inside the adopt offset
  const base = {
    type: "committed",
    sender: identity.id,
    event: 1,
    lamport: forged,
    dead: [],
    last: 1,
    skip: [],
  } as const;
  const other = await signed(identity, 2, forged); // the sender's, for its event 2
  x.push({ ...base, first: 1, sig: new Uint8Array(64).fill(1) }); // bad signature
  x.push({ ...base, first: 2, last: 2, sig: other }); // a final of another event
  y.push({ ...base, first: 1, sig: await signed(identity, 1, forged) }); // a real final, from an unlisted peer
  // Signature checks are real (WebCrypto): step until all three are refused, however slow.
  await until(w, () => refused.length >= 3 && d1.stats().reconciliations.fallback === 1);
  assert.deepEqual(refused.filter((c) => c === "E_BAD_FINAL").length, 3, refused.join());
  assert.ok(d1.clock < forged, "the forged final did not move the clock");
  assert.deepEqual(messages(d1), []);
  assert.equal(
    x.link.closed,
    undefined,
    "the link stays: an honest peer may relay a hostile sender's bad signature",
  );
  // The hostile receiver is given up by the refusal: the event falls back to a drop.
  assert.deepEqual(d1.stats().reconciliations, { committed: 0, dropped: 0, fallback: 1 });
  assert.equal(d1.stats().queue.staged, 0);
  await w.close();
});

/** D1 committed e (from S) and S died: D2 and D3 hold it staged and ask; returns e's final. */
function committedAtOne(ds: readonly Destination[]): number {
  const proposals = stage(
    ds,
    1,
    "e",
    ds.map((d) => d.peer.id),
  );
  const final = Math.max(...proposals) + 1;
  ds[0]?.s.push({ type: "commit", event: 1, lamport: final, dead: [] });
  crash(ds);
  return final;
}

function kinds(peer: Peer): string[] {
  return drain(peer).map((e) => (e.kind === "message" ? String(e.payload) : e.kind));
}

test("a destroy races the reconciliation: the owner delivers e before its node's destroyed notification", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 8, latency: FAST, traceFor: () => traces });
  const ds = await destinations(w, ["D1", "D2", "D3"], "S");
  committedAtOne(ds);
  // While D3 asks, it destroys e's node there: the destroy is proposed above e's staged entry,
  // which blocks the queue until e commits at S's final (below the destroy's), so e comes first.
  const destroyed = w.peer("D3").destroy(ds[2]?.node as Node);
  await settle(w, 20);
  await destroyed;
  assert.deepEqual(kinds(w.peer("D3")), ["e", "destroyed"]);
  assert.equal(w.peer("D3").stats().reconciliations.committed, 1);
  await w.close();
  checked(traces);
});

test("a transfer races the reconciliation: a message sent meanwhile waits behind e, handles intact", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 12, latency: FAST, traceFor: () => traces });
  w.addPeer("H");
  const ds = await destinations(w, ["D1", "D2", "D3"], "S");
  const fromH = ds.map((d) => w.give(d.node, "H"));
  const hNode = w.peer("H").createNode();
  committedAtOne(ds);
  const transfer = w.peer("H").send(fromH.slice(1), "t", { handles: [hNode.handle] });
  await settle(w, 20);
  assert.ok((await transfer).ok);
  for (const id of ["D2", "D3"]) {
    const events = drain(w.peer(id));
    assert.deepEqual(
      events.map((e) => (e.kind === "message" ? String(e.payload) : e.kind)),
      ["e", "t"],
      id,
    );
    const t = events[1];
    assert.ok(t?.kind === "message" && t.handles.length === 1, `${id} got t's handle live`);
  }
  await w.close();
  checked(traces);
});

test("a crash notification races the reconciliation: the sender's node is destroyed after the loss, in one rising order", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 13, latency: FAST, traceFor: () => traces });
  const ds = await destinations(w, ["D1", "D2", "D3"], "S");
  // D2 holds a handle of the sender's: its crash notification is queued at the loss.
  w.peer("D2").importHandle({ owner: "S", node: 1, holder: "D2" });
  const final = committedAtOne(ds);
  await settle(w, 20);
  const events = drain(w.peer("D2"));
  // S's node destroyed, D2's node released (S held a handle to it), and e.
  assert.deepEqual(events.map((e) => e.kind).sort(), ["destroyed", "message", "released"]);
  const ts = events.map((e) => e.ts);
  for (let i = 1; i < ts.length; i++)
    assert.ok(compareTimestamps(ts[i - 1] as Timestamp, ts[i] as Timestamp) < 0, "rising");
  assert.ok(
    events.some((e) => e.kind === "message" && e.ts.lamport === final),
    "e at S's final",
  );
  assert.equal(w.peer("D2").stats().reconciliations.committed, 1);
  await w.close();
  checked(traces);
});

test("no other receiver to ask (the sender was the other): dropped as a counted fallback", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 9, latency: FAST, traceFor: () => traces });
  const [d] = await destinations(w, ["D1"], "S");
  assert.ok(d);
  stage([d], 1, "e", ["S", "D1"]); // S's own node was the other destination
  stage([d], 2, "u", ["D1"]); // a round at one peer: nothing to reconcile, nothing counted
  crash([d]);
  await settle(w);
  assert.deepEqual(messages(d.peer), []);
  assert.deepEqual(d.peer.stats().reconciliations, { committed: 0, dropped: 0, fallback: 1 });
  assert.deepEqual(
    reconciles(traces, "D1").map((r) => [r.event, r.outcome]),
    [["S:1", "fallback"]],
  );
  await w.close();
  checked(traces);
});

/** Frames of one type a scripted peer was sent (for the tests' own checks). */
export function sent(s: Scripted, type: Frame["type"]): Frame[] {
  return s.answers().filter((f) => f.type === type);
}

test("a query that overtakes the sender's stage is deferred, not answered gone: both destinations deliver", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 8, latency: FAST, traceFor: () => traces });
  const identity = await Identity.generate();
  const ids = ["D1", "D2"];
  const [d1, d2] = (await destinations(w, ids, identity.id, identity)) as [Destination, Destination];
  // S's stage reaches D1, D1 proposes; S's link to D1 breaks before it decides. Its stage to D2
  // is still on the way when D1's query reaches D2.
  const [p1] = stage([d1], 1, "e", ids) as [number];
  crash([d1]);
  await settle(w, 3);
  assert.equal(d2.peer.stats().reconciliations.dropped + d1.peer.stats().reconciliations.dropped, 0);
  const [p2] = stage([d2], 1, "e", ids) as [number];
  const final = Math.max(p1, p2) + 1; // S decided with both proposals
  d2.s.push({ type: "commit", event: 1, lamport: final, dead: [], sig: await signed(identity, 1, final) });
  await until(w, () => d1.peer.stats().reconciliations.committed === 1);
  await settle(w);
  assert.deepEqual(messages(d2.peer), ["e"]);
  assert.deepEqual(messages(d1.peer), ["e"], "D1 learnt S's final from D2");
  assert.deepEqual(d1.peer.stats().reconciliations, { committed: 1, dropped: 0, fallback: 0 });
  await w.close();
  checked(traces);
});

test("a deferred query is answered gone once the sender stages a later round there, or its session ends", async () => {
  for (const how of ["later round", "session end"] as const) {
    const traces = new MemoryTraceSink();
    const w = new SimWorld({ seed: 9, latency: FAST, traceFor: () => traces });
    const ids = ["D1", "D2"];
    const [d1, d2] = (await destinations(w, ids, "S")) as [Destination, Destination];
    stage([d1], 1, "e", ids);
    crash([d1]);
    await settle(w, 3);
    assert.equal(d1.peer.stats().queue.staged, 1, `${how}: D1 still holds e, waiting for D2`);
    if (how === "later round") stage([d2], 2, "f", ids);
    else crash([d2]);
    await settle(w);
    assert.deepEqual(d1.peer.stats().reconciliations, { committed: 0, dropped: 1, fallback: 0 }, how);
    assert.deepEqual(messages(d1.peer), [], how);
    await w.close();
  }
});

test("a receiver that never answers is given up after the retention time: a counted fallback, the queue moves on", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 10, latency: FAST, traceFor: () => traces });
  const ids = ["D1", "X"];
  const [d1] = (await destinations(w, ["D1"], "S")) as [Destination];
  const x = scripted(d1.peer, "X"); // a live co-destination that ignores queries
  await w.run({ maxTime: 20 });
  stage([d1], 1, "e", ids);
  crash([d1]);
  await w.run({ maxTime: 100 });
  assert.equal(d1.peer.stats().queue.staged, 1, "D1 waits for X");
  assert.ok(
    x.answers().some((f) => f.type === "query"),
    "D1 asked X",
  );
  // The retention time of spec/ordering.md §16: the longest an honest receiver defers.
  const t = d1.peer.timeouts;
  const keepMs = Math.max(t.stageTimeoutMs, t.deadAfterMs + t.graceMs) + t.dialTimeoutMs + t.answerTimeoutMs;
  await w.run({ maxTime: keepMs - 200 });
  assert.equal(d1.peer.stats().queue.staged, 1, "still waiting just before the retention time");
  await w.run({ maxTime: 400 });
  assert.deepEqual(d1.peer.stats().reconciliations, { committed: 0, dropped: 0, fallback: 1 });
  assert.equal(d1.peer.stats().queue.staged, 0);
  await w.close();
});

test("a sender that is itself a receiver may have delivered at its own node: a drop is a counted fallback, not `dropped`", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 11, latency: FAST, traceFor: () => traces });
  const [d1, d2] = (await destinations(w, ["D1", "D2"], "S")) as [Destination, Destination];
  stage([d1, d2], 1, "e", ["S", "D1", "D2"]);
  d2.s.push({ type: "abort", event: 1 }); // D2 has nothing to tell: it answers `gone`
  crash([d1, d2]);
  await settle(w);
  assert.deepEqual(d1.peer.stats().reconciliations, { committed: 0, dropped: 0, fallback: 1 });
  assert.equal(reconciles(traces, "D1")[0]?.outcome, "fallback");
  await w.close();
});
