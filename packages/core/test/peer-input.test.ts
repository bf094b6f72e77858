/** A peer against a scripted remote: checks, error codes, and bad input costing only its link. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CapbusError, type Handle, Peer, type PeerEvent, systemRuntime, TICKS_PER_MS } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { type Frame, FrameCodec } from "@capbus/wire";

const codec = new FrameCodec();
const payloadOf = (e: PeerEvent | undefined) => (e?.kind === "message" ? e.payload : undefined);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An unauthenticated remote's hello asking for a new session (spec/transports.md §3). */
function helloFrom(peer: string): Frame {
  const empty = new Uint8Array(0);
  return {
    type: "hello",
    seq: 0,
    ack: 0,
    versions: [2],
    peer,
    key: empty,
    nonce: new Uint8Array(16),
    session: empty,
  };
}

/**
 * Peer "P" linked to a scripted remote "R" that has said hello. P's wall clock reads 0 ms (Unix
 * time 0), so its hybrid clock values are those of the Lamport rules alone (spec/ordering.md §2).
 */
function setup() {
  const peer = new Peer({ id: "P", runtime: { ...systemRuntime, wallNow: () => 0 } });
  const link = new ScriptedLink();
  peer.connect(link, "R");
  let seq = 0;
  const frames = () => link.take().map((bytes) => codec.decode(bytes));
  const push = (frame: Record<string, unknown> & { type: Frame["type"] }) => {
    const unsequenced = frame.type === "ack" || frame.type === "close" || frame.type === "hello";
    link.deliver(codec.encode({ seq: unsequenced ? 0 : ++seq, ack: 0, ...frame } as Frame));
  };
  push(helloFrom("R"));
  assert.deepEqual(
    frames().map((f) => f.type),
    ["hello"],
  );
  return { peer, link, frames, push };
}

test("a stage from a peer that holds no handle is rejected with E_NO_HANDLE", () => {
  const { peer, frames, push } = setup();
  const node = peer.createNode();
  push({ type: "stage", event: 1, clock: 0, nodes: [node.id], payload: "x", handles: [], receivers: ["P"] });
  push({ type: "unicast", event: 2, clock: 0, node: 99, payload: "x" });
  assert.deepEqual(
    frames().map((f) => (f.type === "reject" ? f.code : f.type)),
    ["E_NO_HANDLE", "E_NO_NODE"],
  );
});

test("a holder's stage is proposed and, once committed, delivered with the final timestamp", async () => {
  const { peer, frames, push } = setup();
  const node = peer.createNode();
  peer.grant(node, "R");
  push({
    type: "stage",
    event: 1,
    clock: 5,
    nodes: [node.id],
    payload: new Uint8Array([1, 2]),
    handles: [],
    receivers: ["P"],
  });
  const [propose] = frames();
  assert.equal(propose?.type, "propose");
  assert.equal(propose.type === "propose" && propose.lamport, 6);
  assert.equal(peer.poll(), undefined, "staged is not delivered");
  push({ type: "commit", event: 1, lamport: 9, dead: [] });
  const event = await peer.receive();
  assert.deepEqual(event?.kind === "message" && event.payload, new Uint8Array([1, 2]));
  assert.deepEqual(event?.ts, { lamport: 9, peer: "R", seq: 1 });
  assert.equal(peer.clock, 9);
});

test("a timestamp more than clockRefuseMs ahead of the wall clock closes the link with E_CLOCK_SKEW", () => {
  const { peer, link, frames, push } = setup();
  const node = peer.createNode();
  peer.grant(node, "R");
  push({ type: "unicast", event: 1, clock: 35_000 * TICKS_PER_MS + 1, node: node.id, payload: 0 });
  assert.equal(link.closed?.code, "E_CLOCK_SKEW");
  assert.deepEqual(
    frames().map((f) => f.type),
    ["close"],
  );
  // One tick for R's loss (its reference to P/1 goes: a released notification, §7.1), no more.
  assert.equal(peer.clock, 1, "the clock did not move to the value");
});

test("H2 gates the batch frames and the runs B7 carries: a value past the refuse offset closes the link", () => {
  const far = 35_000 * TICKS_PER_MS + 1;
  const frames: (Record<string, unknown> & { type: Frame["type"] })[] = [
    { type: "unicasts", event: 1, clock: far, to: [1, 1], payloads: [0, 1] },
    { type: "stages", event: 1, clock: far, events: [1, 2], targets: [[1], [1]], payloads: [0, 1] },
    { type: "commits", event: 1, lamport: far, events: [1, 2] },
    { type: "accepts", event: 1, count: 1, lamport: far, refusals: [] },
    { type: "proposals", event: 1, lamport: far, refusals: [], destroyed: [] },
    { type: "unicast", event: 1, clock: 0, node: 1, payload: 0, accepted: [[1, 1, far]] },
    { type: "accepts", event: 1, count: 1, lamport: 0, refusals: [], more: [[2, 1, far]] },
    { type: "proposals", event: 1, lamport: 0, refusals: [], destroyed: [], more: [[4, far]] },
  ];
  for (const frame of frames) {
    const { peer, link, push } = setup();
    peer.grant(peer.createNode(), "R");
    push(frame);
    assert.equal(link.closed?.code, "E_CLOCK_SKEW", frame.type);
    assert.ok(peer.clock < far, `${frame.type}: the clock did not move to the value`);
  }
});

test("a timestamp between the adopt and refuse offsets waits, with its link's later frames, unapplied", () => {
  const { peer, link, frames, push } = setup();
  const node = peer.createNode();
  peer.grant(node, "R");
  push({ type: "unicast", event: 1, clock: 35_000 * TICKS_PER_MS, node: node.id, payload: 0 });
  push({ type: "unicast", event: 2, clock: 0, node: node.id, payload: 1 });
  assert.equal(link.closed, undefined, "exactly the refuse offset ahead is no skew");
  assert.deepEqual(frames(), [], "neither is answered: the second waits behind the first");
  assert.equal(peer.clock, 0, "nothing applied before its wait");
  assert.equal(peer.poll(), undefined);
  peer.abort();
});

test("a final below the proposal closes the link with E_PROTOCOL", () => {
  const { peer, link, push } = setup();
  const node = peer.createNode();
  peer.grant(node, "R");
  push({ type: "stage", event: 1, clock: 10, nodes: [node.id], payload: 0, handles: [], receivers: ["P"] });
  push({ type: "commit", event: 1, lamport: 3, dead: [] });
  assert.equal(link.closed?.code, "E_PROTOCOL");
});

test("garbage on one link closes that link with a code; other links and queued events are untouched", async () => {
  const peer = new Peer({ id: "P" });
  const good = new ScriptedLink();
  const bad = new ScriptedLink();
  peer.connect(good, "G");
  peer.connect(bad, "B");
  const node = peer.createNode();
  peer.grant(node, "G");
  good.deliver(codec.encode(helloFrom("G")));
  good.deliver(
    codec.encode({ type: "unicast", seq: 1, ack: 0, event: 1, clock: 0, node: node.id, payload: "kept" }),
  );
  bad.deliver(new Uint8Array([0x9f, 0xff, 0x00, 0x13]));
  assert.equal(bad.closed?.code?.startsWith("E_"), true);
  assert.equal(good.closed, undefined);
  assert.equal(payloadOf(await peer.receive()), "kept");
  good.deliver(
    codec.encode({ type: "unicast", seq: 2, ack: 0, event: 2, clock: 0, node: node.id, payload: "after" }),
  );
  assert.equal(payloadOf(await peer.receive()), "after");
});

test("frames out of link sequence close the link with E_SEQUENCE", () => {
  const { link } = setup();
  link.deliver(codec.encode({ type: "abort", seq: 5, ack: 0, event: 1 }));
  assert.equal(link.closed?.code, "E_SEQUENCE");
});

test("a frame before hello closes the link with E_PROTOCOL", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link, "R");
  link.deliver(codec.encode({ type: "abort", seq: 1, ack: 0, event: 1 }));
  assert.equal(link.closed?.code, "E_PROTOCOL");
});

test("send checks: duplicate destinations, foreign handles, closed peers, aborted signals", async () => {
  const { peer } = setup();
  const node = peer.createNode();
  const other = new Peer({ id: "Q" }).createNode().handle;
  const code = (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: unknown) => (e instanceof CapbusError ? e.code : String(e)),
    );
  assert.equal(await code(peer.send([node.handle, node.handle], 1)), "E_DUPLICATE");
  assert.equal(await code(peer.send(other as Handle, 1)), "E_NO_HANDLE");
  assert.equal(await code(peer.send(node.handle, 1, { signal: AbortSignal.abort() })), "E_ABORTED");
  await peer.close();
  assert.equal(await code(peer.send(node.handle, 1)), "E_CLOSED");
});

test("aborting an undecided round tells its destinations and traces the abort", async () => {
  const records: string[] = [];
  const peer = new Peer({ id: "P", trace: { write: (r) => records.push(r.op) } });
  const link = new ScriptedLink();
  peer.connect(link, "R");
  link.deliver(codec.encode(helloFrom("R")));
  const remote = peer.importHandle({ owner: "R", node: 1, holder: "P" });
  const own = peer.createNode();
  const controller = new AbortController();
  const sent = peer.send([remote, own.handle], "m", { signal: controller.signal });
  await tick();
  controller.abort();
  await assert.rejects(sent, (e: unknown) => e instanceof CapbusError && e.code === "E_ABORTED");
  const types = link.take().map((b) => codec.decode(b).type);
  assert.deepEqual(types, ["hello", "stage", "abort"]);
  assert.ok(records.includes("abort"));
  assert.equal(peer.poll(), undefined, "the aborted message is delivered nowhere");
});

test("a destination whose link closes mid-round is reported, the others still commit", async () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link, "R");
  link.deliver(codec.encode(helloFrom("R")));
  const remote = peer.importHandle({ owner: "R", node: 1, holder: "P" });
  const own = peer.createNode();
  const sent = peer.send([remote, own.handle], "m");
  await tick();
  link.remoteClose("E_LINK_CUT", "gone");
  const result = await sent;
  assert.deepEqual(
    result.destinations.map((d) => [d.node, d.committed, d.code]),
    [
      ["R/1", false, "E_LINK_CLOSED"],
      ["P/1", true, undefined],
    ],
  );
  assert.equal(result.ok, false);
  // R left without a clean close: P's handle to R/1 gets its one destroyed notification (crash).
  const events = [await peer.receive(), await peer.receive()];
  assert.deepEqual(
    events.map((e) => (e?.kind === "destroyed" ? `${e.handle.name}:${e.reason}` : payloadOf(e))).sort(),
    ["R/1:crash", "m"],
  );
});

/** A scripted link that logs, in order, each frame written and each flush the peer asks for. */
class FlushLog extends ScriptedLink {
  readonly log: string[] = [];
  override send(frame: Uint8Array): void {
    this.log.push(codec.decode(frame).type);
    super.send(frame);
  }
  flush(): void {
    this.log.push("flush");
  }
}

test("B7: an accept held to the end of the turn is written then, and the link flushed at once", async () => {
  const peer = new Peer({ id: "P", runtime: { ...systemRuntime, wallNow: () => 0 } });
  const link = new FlushLog();
  peer.connect(link, "R");
  let seq = 0;
  const push = (frame: Record<string, unknown> & { type: Frame["type"] }) =>
    link.deliver(codec.encode({ seq: frame.type === "hello" ? 0 : ++seq, ack: 0, ...frame } as Frame));
  push(helloFrom("R"));
  const node = peer.createNode();
  peer.grant(node, "R");
  link.log.length = 0;
  push({ type: "unicast", event: 1, clock: 0, node: node.id, payload: "no reply" });
  assert.deepEqual(link.log, [], "held over the turn");
  await tick();
  // The end of the turn writes the accept and has the link send it now: a ws link's own flush,
  // scheduled from there, would come a loop iteration later.
  assert.deepEqual(link.log, ["accept", "flush"]);
  assert.equal(payloadOf(await peer.receive()), "no reply");
});
