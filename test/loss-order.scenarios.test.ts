/**
 * Notifications synthesized for a lost peer (spec/guarantees.md §4.2) take a place in the queue:
 * every peer still delivers in rising `ts` order (spec/trace.md W8), and their ids are unique per
 * delivering peer (W11).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import type { Peer, PeerEvent } from "@capbus/core";
import { ScriptedLink, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { type Frame, FrameCodec } from "@capbus/wire";

const codec = new FrameCodec();
const EMPTY = new Uint8Array(0);

function drain(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

function label(e: PeerEvent): string {
  if (e.kind === "message") return `message:${String(e.payload)}`;
  return e.kind === "destroyed"
    ? `destroyed:${e.handle.name}:${e.reason}`
    : `released:${e.node.name}:${e.reason}`;
}

function assertRising(events: readonly PeerEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1]!.ts, events[i]!.ts];
    const below =
      a.lamport < b.lamport ||
      (a.lamport === b.lamport && (a.peer < b.peer || (a.peer === b.peer && a.seq < b.seq)));
    assert.ok(
      below,
      `delivery ${i} (${JSON.stringify(b)}) is not above delivery ${i - 1} (${JSON.stringify(a)})`,
    );
  }
}

/** A scripted peer S linked to `peer`, past its hello. */
function scripted(peer: Peer, id: string): ScriptedLink {
  const s = new ScriptedLink();
  peer.connect(s, id);
  s.deliver(
    codec.encode({
      type: "hello",
      seq: 0,
      ack: 0,
      versions: [2],
      peer: id,
      key: EMPTY,
      nonce: new Uint8Array(16),
      session: EMPTY,
    }),
  );
  return s;
}

test("a crash notification waits behind a live peer's staged entry, after the committed entries below it", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 11, latency: { min: 1, max: 1 }, traceFor: () => traces });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.link("A", "C");
  w.link("B", "C");
  const inbox = c.createNode();
  const fromA = w.give(inbox, "A");
  w.give(b.createNode(), "C");
  await w.run();
  // S, alive and slow, stages an event at C and holds it: C's queue is blocked behind it.
  const s = scripted(c, "S");
  c.grant(inbox, "S");
  s.deliver(
    codec.encode({
      type: "stage",
      seq: 1,
      ack: 0,
      event: 1,
      clock: 0,
      nodes: [inbox.id],
      payload: "slow",
      handles: [],
      receivers: ["C"],
    } as Frame),
  );
  const proposal = codec.decodeFrame(s.take().at(-1)!);
  assert.ok(proposal.ok && proposal.frame.type === "propose");
  // A's unicast commits at C on arrival, above S's proposal: queued, not deliverable.
  const sent = a.send(fromA, "from A");
  await w.run({ maxTime: 100 }); // well inside S's stage timeout
  assert.ok((await sent).ok);
  assert.deepEqual(drain(c).map(label), [], "S's staged entry blocks the queue");
  // B is lost to C: C synthesizes B's node's destroyed notification.
  w.network.cut("B", "C");
  await w.run({ maxTime: 100 });
  assert.deepEqual(drain(c).map(label), [], "the notification is ordered above A's message, so it waits too");
  // S commits at its proposal: everything flows, in rising timestamps.
  s.deliver(
    codec.encode({
      type: "commit",
      seq: 2,
      ack: 0,
      event: 1,
      lamport: proposal.frame.lamport,
      dead: [],
    } as Frame),
  );
  const events = drain(c);
  assert.deepEqual(events.map(label), ["message:slow", "message:from A", "destroyed:B/1:crash"]);
  assertRising(events);
  s.remoteClose("OK", "S is done"); // else C's close waits for S's answer to the destroy of inbox
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("two survivors of one loss deliver its notifications under ids of their own", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 12, latency: { min: 1, max: 3 }, traceFor: () => traces });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.linkAll();
  const node = b.createNode();
  w.give(node, "A");
  w.give(node, "C");
  // Different clocks at A and C, so their notifications get different timestamps.
  const extra = c.createNode();
  for (let i = 0; i < 3; i++) await c.send(extra.handle, i);
  await w.run();
  w.network.cutAll("B");
  await w.run();
  const [atA] = drain(a).filter((e) => e.kind === "destroyed");
  const [atC] = drain(c).filter((e) => e.kind === "destroyed");
  assert.ok(atA && atC);
  assert.equal(atA.reason, "crash");
  assert.notEqual(atA.event, atC.event, "one id per survivor");
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("two survivors whose clocks agree give their notifications for one loss one timestamp, and the checker accepts it", async () => {
  // Found by the ordering property with losses (CAPBUS_SEED=1 CAPBUS_RUNS=100): the checker held
  // two survivors' notifications to one timestamp each, across peers (W8 is per event id, spec/ordering.md §7.1 L1).
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 13, latency: { min: 1, max: 3 }, traceFor: () => traces });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.linkAll();
  const node = b.createNode();
  w.give(node, "A");
  w.give(node, "C");
  await w.run();
  w.network.cutAll("B");
  await w.run();
  const [atA] = drain(a).filter((e) => e.kind === "destroyed");
  const [atC] = drain(c).filter((e) => e.kind === "destroyed");
  assert.ok(atA && atC);
  assert.deepEqual(atA.ts, atC.ts, "equal clocks at the loss: one timestamp");
  assert.notEqual(atA.event, atC.event, "one id per survivor");
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});
