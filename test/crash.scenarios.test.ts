/** Stuck senders and lost peers (trap 3, trap 4; spec/guarantees.md), simulated and scripted. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import type { Peer, PeerEvent } from "@capbus/core";
import { ScriptedLink, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { type Frame, FrameCodec } from "@capbus/wire";

const codec = new FrameCodec();

function show(events: PeerEvent[]): string[] {
  return events.map((e) =>
    e.kind === "message"
      ? `message:${String(e.payload)}`
      : e.kind === "destroyed"
        ? `destroyed:${e.handle.name}:${e.reason}`
        : `released:${e.node.name}:${e.reason}`,
  );
}

function drain(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

test("a sender that stages and never commits is cut off after the stage timeout; the queue moves on", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 5, latency: { min: 1, max: 1 }, traceFor: () => traces });
  const p = w.addPeer("P");
  const honest = w.addPeer("H");
  w.link("P", "H");
  // S is hostile: a scripted link that stages an event at P and never commits it. P's stage
  // timeout is the default, 135 s of virtual time.
  const s = new ScriptedLink();
  p.connect(s, "S");
  const empty = new Uint8Array(0);
  s.deliver(
    codec.encode({
      type: "hello",
      seq: 0,
      ack: 0,
      versions: [2],
      peer: "S",
      key: empty,
      nonce: new Uint8Array(16),
      session: empty,
    }),
  );
  const node = p.createNode();
  p.grant(node, "S");
  const fromH = w.give(node, "H");
  await w.run();
  s.deliver(
    codec.encode({
      type: "stage",
      seq: 1,
      ack: 0,
      event: 1,
      clock: 0,
      nodes: [node.id],
      payload: "never committed",
      handles: [],
      receivers: ["P"],
    } as Frame),
  );
  const sent = honest.send(fromH, "behind the stuck one");
  await w.run({ maxTime: 5_000 });
  assert.equal(drain(p).length, 0, "the staged entry blocks the queue until the timeout");
  await w.run();
  assert.equal(s.closed?.code, "E_STAGE_TIMEOUT");
  assert.ok((await sent).ok);
  assert.deepEqual(show(drain(p)), ["message:behind the stuck one"]);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("a lost peer: holders of its nodes get one destroyed (crash), its nodes' owners a release", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 6, latency: { min: 1, max: 5 }, traceFor: () => traces });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.link("A", "B");
  const aNode = a.createNode();
  const bNode = b.createNode();
  w.give(aNode, "B");
  w.give(bNode, "A");
  await w.run();
  w.network.cut("A", "B");
  await w.run();
  assert.deepEqual(show(drain(a)), ["destroyed:B/1:crash", "released:A/1:crash"]);
  assert.deepEqual(show(drain(b)), ["destroyed:A/1:crash", "released:B/1:crash"]);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("a lost peer comes back only when a new session's handshake completes, not when a dial to it starts", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 7, latency: { min: 1, max: 5 }, traceFor: () => traces });
  const [o, b, s] = ["O", "B", "S"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.linkAll();
  const oNodes = [o.createNode(), o.createNode(), o.createNode()];
  w.give(oNodes[0]!, "B");
  const carried = [w.give(oNodes[1]!, "S"), w.give(oNodes[2]!, "S")];
  const inbox = w.give(b.createNode(), "S");
  await w.run();
  w.network.cut("O", "B");
  await w.run();
  assert.deepEqual(show(drain(b)), ["destroyed:O/1:crash"]);
  // B dials O again (a carried handle can start that), and the link connects, but O's end never
  // answers the handshake: a proxy in front of a crashed process, say.
  const silent = new ScriptedLink();
  b.connect(silent, "O");
  const first = s.send(inbox, "O/2 while B's dial is under way", { handles: [carried[0]!] });
  await w.run({ until: () => b.queued > 0 });
  const during = b.poll();
  assert.equal(during?.kind, "message");
  if (during?.kind !== "message") return;
  assert.equal(during.handles[0]?.state, "destroyed", "O is still lost: its handle arrives dead");
  await assert.rejects(b.send(during.handles[0]!, "to a lost owner"), { code: "E_DESTROYED" });
  assert.ok((await first).ok);
  // That dial fails; a new one completes its handshake: O is back, and its handles live again.
  silent.remoteClose("E_LINK_BROKEN", "the proxy gave up");
  w.link("B", "O");
  await w.run();
  assert.deepEqual(b.linkedPeers.sort(), ["O", "S"]);
  const second = s.send(inbox, "O/3 after the new session", { handles: [carried[1]!] });
  await w.run({ until: () => b.queued > 0 });
  const after = b.poll();
  assert.equal(after?.kind === "message" && after.handles[0]?.state, "live");
  assert.ok((await second).ok);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});
