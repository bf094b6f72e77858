/**
 * Close and misuse (issue 16): sends refused before the wire, calls after close, bursts beyond
 * the window, and a handle passed on right after linking. Simulated network, with traces checked.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { CapbusError, type Peer, type PeerEvent } from "@capbus/core";
import { SimWorld, type SimWorldOptions } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { WireError } from "@capbus/wire";

function world(options: Partial<SimWorldOptions> = {}) {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 16, latency: { min: 2, max: 6 }, traceFor: () => traces, ...options });
  const check = () => {
    const report = checkTraces(traces.byPeer);
    assert.ok(report.ok, formatReport(report));
    return report;
  };
  return { w, traces, check };
}

/** The code of a rejection (CapbusError or WireError), or "resolved". */
const code = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (e instanceof CapbusError || e instanceof WireError ? e.code : String(e)),
  );

/** The code a synchronous call throws with, or "returned". */
function thrown(fn: () => unknown): string {
  try {
    fn();
    return "returned";
  } catch (e) {
    return e instanceof CapbusError || e instanceof WireError ? e.code : String(e);
  }
}

/** Run the simulation until `promise` settles, and return its value. */
async function settle<T>(w: SimWorld, promise: Promise<T>): Promise<T> {
  let done = false;
  const finish = () => {
    done = true;
  };
  promise.then(finish, finish);
  await w.run({ until: () => done });
  return promise;
}

function drain(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

const payloads = (peer: Peer) => drain(peer).map((e) => (e.kind === "message" ? e.payload : e.kind));

/** Frames of at most 1 KiB on every session of the world's peers. */
const SMALL_FRAMES = { session: { limits: { maxFrameBytes: 1024 } } };

test("a unicast refused for size is rejected with E_TOO_LARGE, traced aborted, and close resolves", async () => {
  const { w, traces, check } = world();
  const a = w.addPeer("A", SMALL_FRAMES);
  const b = w.addPeer("B", SMALL_FRAMES);
  w.link("A", "B");
  const toB = w.give(b.createNode(), "A");
  await w.run();
  assert.equal(await code(settle(w, a.send(toB, "x".repeat(2000)))), "E_TOO_LARGE");
  assert.equal(a.stats().events.undecided, 0, "the refused send is decided");
  assert.ok((await settle(w, a.send(toB, "small"))).ok, "the link is fine");
  const aborts = (traces.byPeer.get("A") ?? []).filter((r) => r.op === "abort");
  assert.deepEqual(
    aborts.map((r) => r.op === "abort" && r.event),
    ["A:1"],
  );
  await w.run();
  assert.deepEqual(payloads(b), ["small"]);
  await w.close();
  check();
});

test("a multicast and a handle-carrying send refused for size: rejected, aborted everywhere, close resolves", async () => {
  const { w, traces, check } = world();
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id, SMALL_FRAMES)) as [Peer, Peer, Peer];
  w.linkAll();
  const toB = w.give(b.createNode(), "A");
  const toC = w.give(c.createNode(), "A");
  await w.run();
  const big = "y".repeat(2000);
  assert.equal(await code(settle(w, a.send([toB, toC], big))), "E_TOO_LARGE");
  assert.equal(await code(settle(w, a.send(toB, big, { handles: [toC] }))), "E_TOO_LARGE");
  assert.equal(a.stats().events.undecided, 0);
  const sent = await settle(w, a.send([toB, toC], "fine"));
  assert.ok(sent.ok);
  await w.run();
  assert.deepEqual(payloads(b), ["fine"]);
  assert.deepEqual(payloads(c), ["fine"]);
  const aborts = (traces.byPeer.get("A") ?? []).filter((r) => r.op === "abort");
  assert.equal(aborts.length, 2);
  await w.close();
  check();
});

test("a destroy refused for size is rejected, the nodes stay alive, and close still resolves", async () => {
  const { w, check } = world();
  const a = w.addPeer("A", { session: { limits: { maxFrameBytes: 64 } } });
  const nodes = Array.from({ length: 40 }, () => a.createNode());
  assert.equal(await code(settle(w, a.destroy(nodes))), "E_TOO_LARGE");
  assert.equal(a.stats().events.undecided, 0);
  const ts = await settle(w, a.destroy(nodes[0] as (typeof nodes)[0]));
  assert.ok(ts.lamport > 0, "a node of the refused destroy is still alive and destroyable");
  await w.close();
  check();
});

test("after close every call fails with E_CLOSED, and nothing is traced after the close record", async () => {
  const { w, traces, check } = world();
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.link("A", "B");
  const node = a.createNode();
  const toB = w.give(b.createNode(), "A");
  const grant = b.grant(b.createNode(), "A");
  a.advertise("sim:A");
  const url = a.export(node);
  await w.run();
  const closing = a.close();
  // While closing, too: nothing new starts.
  assert.equal(
    thrown(() => a.importHandle(grant)),
    "E_CLOSED",
  );
  await settle(w, closing);
  assert.equal(await code(a.send(toB, "late")), "E_CLOSED");
  assert.equal(await code(a.request(toB, "late")), "E_CLOSED");
  assert.equal(await code(a.destroy(node)), "E_CLOSED");
  assert.equal(await code(a.import(url)), "E_CLOSED");
  assert.equal(await code(a.drained(toB)), "E_CLOSED");
  assert.equal(
    thrown(() => a.createNode()),
    "E_CLOSED",
  );
  assert.equal(
    thrown(() => a.grant(node, "B")),
    "E_CLOSED",
  );
  assert.equal(
    thrown(() => a.export(node)),
    "E_CLOSED",
  );
  assert.equal(
    thrown(() => a.importHandle(grant)),
    "E_CLOSED",
  );
  assert.equal(
    thrown(() => a.advertise("sim:A2")),
    "E_CLOSED",
  );
  assert.equal(a.revoke(url), 0, "revoke is cleanup: allowed, and every URL died with the close");
  // A link offered after close (a listener still accepting) is closed, and starts no session.
  await w.run(); // B has seen A's close
  const [atA, atB] = w.network.link("A", "B");
  a.connect(atA, "B");
  b.connect(atB, "A");
  await w.run();
  assert.deepEqual(a.linkedPeers, []);
  await a.close(); // idempotent
  const records = traces.byPeer.get("A") ?? [];
  assert.equal(records.at(-1)?.op, "close", records.map((r) => r.op).join(","));
  await w.close();
  check();
});

/**
 * A window of 16 KiB and a send queue of 16 KiB: 8 KiB messages stand in for 8 MiB ones (a frame
 * held counts its bytes and HELD_FRAME_COST, 160).
 */
const SMALL_WINDOW = { session: { maxUnackedBytes: 16 * 1024, maxBufferedBytes: 16 * 1024 } };
const CHUNK = new Uint8Array(8 * 1024 - 256);

test("three window-sized sends in a row all wait their turn: delivered, committed, no session closed", async () => {
  const { w, check } = world();
  const closed: string[] = [];
  const logger = { warn: (_: string, f?: Readonly<Record<string, unknown>>) => closed.push(String(f?.code)) };
  const a = w.addPeer("A", { ...SMALL_WINDOW, logger });
  const b = w.addPeer("B", { ...SMALL_WINDOW, logger });
  w.link("A", "B");
  const toB = w.give(b.createNode(), "A");
  await w.run();
  const sends = [1, 2, 3].map(() => a.send(toB, CHUNK));
  assert.ok((a.stats().links.B?.bufferedBytes ?? 0) > 0, "the third waits in the send queue");
  const results = await settle(w, Promise.all(sends));
  assert.deepEqual(
    results.map((r) => r.ok),
    [true, true, true],
  );
  await w.run();
  assert.equal(drain(b).length, 3);
  assert.deepEqual(closed, [], "no session closed");
  assert.deepEqual(a.linkedPeers, ["B"]);
  assert.equal(a.stats().links.B?.bufferedBytes, 0);
  await w.close();
  check();
});

test("a send queue past maxBufferedBytes refuses new messages with E_BACKPRESSURE, before the wire", async () => {
  const { w, traces, check } = world();
  const a = w.addPeer("A", SMALL_WINDOW);
  const b = w.addPeer("B", SMALL_WINDOW);
  const c = w.addPeer("C", SMALL_WINDOW);
  w.linkAll();
  const toB = w.give(b.createNode(), "A");
  const toC = w.give(c.createNode(), "A");
  await w.run();
  w.network.pause("B"); // B stops reading: no acks come back
  const sends = Array.from({ length: 6 }, (_, i) =>
    code(a.send(toB, CHUNK).then((r) => assert.ok(r.ok, `${i}`))),
  );
  // A multicast to a full queue is refused too, and aborted at the destination it was staged at.
  const multicast = code(a.send([toC, toB], CHUNK));
  const waited = a.drained(toB).then(() => a.stats().links.B?.bufferedBytes);
  await w.scheduler.advance(50);
  assert.ok((a.stats().links.B?.bufferedBytes ?? 0) > 0);
  w.network.resume("B");
  const outcomes = await settle(w, Promise.all(sends));
  // Two fill the window, two wait in the queue, and the rest find it full.
  assert.deepEqual(outcomes, [
    "resolved",
    "resolved",
    "resolved",
    "resolved",
    "E_BACKPRESSURE",
    "E_BACKPRESSURE",
  ]);
  assert.equal(await settle(w, multicast), "E_BACKPRESSURE");
  assert.equal(await waited, 0, "drained() waits until the queue is empty");
  await w.run();
  assert.equal(drain(b).length, 4, "exactly the admitted ones delivered");
  assert.equal(drain(c).length, 0, "the refused multicast is delivered nowhere");
  assert.equal((traces.byPeer.get("A") ?? []).filter((r) => r.op === "abort").length, 3);
  assert.ok((await settle(w, a.send(toB, "after"))).ok, "the session went on");
  await w.close();
  check();
});

test("frames queued beyond the window survive a link cut and go out after the resume, once", async () => {
  const { w, check } = world();
  const opts = { session: { ...SMALL_WINDOW.session, maxBufferedBytes: 1024 * 1024, graceMs: 5000 } };
  const a = w.addPeer("A", opts);
  const b = w.addPeer("B", opts);
  w.link("A", "B");
  const toB = w.give(b.createNode(), "A");
  await w.run();
  const sends = Array.from({ length: 8 }, (_, i) => a.send(toB, { i, pad: CHUNK }));
  await w.scheduler.advance(5);
  assert.ok((a.stats().links.B?.bufferedBytes ?? 0) > 0, "some wait beyond the window");
  w.network.cut("A", "B");
  await w.scheduler.advance(100);
  w.link("A", "B"); // resumes the session
  const results = await settle(w, Promise.all(sends));
  assert.ok(
    results.every((r) => r.ok),
    JSON.stringify(results),
  );
  await w.run();
  assert.deepEqual(
    drain(b).map((e) => (e.kind === "message" ? (e.payload as { i: number }).i : -1)),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  await w.close();
  check();
});

test("a handle passed on right after linking, before anyone heard its owner's endpoints, still leads to its owner", async () => {
  const { w, check } = world({ dial: true, dialTimeoutMs: 1000 });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.link("A", "C");
  const toC = w.give(c.createNode(), "A");
  w.link("B", "A");
  const toB = w.give(b.createNode(), "A");
  // At once: A has not heard where C listens yet, and B never has.
  const passed = a.send(toB, "C's node", { handles: [toC] });
  assert.ok((await settle(w, passed)).ok);
  const event = await settle(w, b.receive());
  const handle = event?.kind === "message" ? event.handles[0] : undefined;
  assert.ok(handle, "B got the handle");
  const sent = await settle(w, b.send(handle, "direct"));
  assert.ok(sent.ok, JSON.stringify(sent));
  await w.run();
  assert.deepEqual(payloads(c), ["direct"]);
  assert.deepEqual(
    drain(b).map((e) => e.kind),
    [],
    "no unreachable notification",
  );
  await w.close();
  check();
});
