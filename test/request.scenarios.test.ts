/** Request/reply (spec/ordering.md §14) on the simulated network. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { CapbusError, type Peer } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

test("requests get their replies, through one reused reply node, in the global order", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 2, latency: { min: 1, max: 30 }, traceFor: () => traces });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const service = b.createNode();
  const toService = w.give(service, "A");
  void (async () => {
    for await (const event of b) {
      if (event.kind === "message" && event.reply) void event.reply((event.payload as number) * 2);
    }
  })();
  const replies = Promise.all([1, 2, 3, 4, 5].map((n) => a.request(toService, n)));
  await w.run();
  assert.deepEqual(await replies, [2, 4, 6, 8, 10]);
  assert.equal(a.queued, 0, "replies do not reach the application's queue");
  // One reply node for all five: the requests carried the same node every time.
  const carried = (traces.byPeer.get("B") ?? []).flatMap((r) => (r.op === "deliver" ? r.handles : []));
  assert.equal(new Set(carried).size, 1);
  assert.equal(carried.length, 5);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("once a peer holds the reply handle, requests to it are plain unicasts (fast path)", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 5, latency: { min: 1, max: 30 }, traceFor: () => traces });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const toService = w.give(b.createNode(), "A");
  void (async () => {
    for await (const event of b) {
      if (event.kind === "message" && event.reply) void event.reply((event.payload as number) + 1);
    }
  })();
  const replies: unknown[] = [];
  for (const n of [1, 2, 3, 4]) {
    const reply = a.request(toService, n);
    await w.run();
    replies.push(await reply);
  }
  assert.deepEqual(replies, [2, 3, 4, 5]);
  // Only the first request carried the reply handle; the others went without.
  const sends = (traces.byPeer.get("A") ?? []).filter((r) => r.op === "send" && r.to.includes("B"));
  assert.deepEqual(
    sends.map((r) => (r.op === "send" ? r.handles.length : -1)),
    [1, 0, 0, 0],
  );
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("a request to a destroyed node fails with E_DESTROYED; an aborted one with E_ABORTED", async () => {
  const w = new SimWorld({ seed: 3 });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const gone = b.createNode();
  const silent = b.createNode();
  const toGone = w.give(gone, "A");
  const toSilent = w.give(silent, "A");
  const destroyed = b.destroy(gone);
  await w.run();
  await destroyed;
  const code = (p: Promise<unknown>) =>
    p.then(String, (e: unknown) => (e instanceof CapbusError ? e.code : e));
  assert.equal(await code(a.request(toGone, 1)), "E_DESTROYED");
  const controller = new AbortController();
  const pending = code(a.request(toSilent, 1, { signal: controller.signal }));
  await w.run();
  controller.abort();
  assert.equal(await pending, "E_ABORTED");
  await w.close();
});

test("B7: a reply carries its request's accept, and the next request the reply's: 2 frames per round trip", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 6, latency: { min: 5, max: 5 }, traceFor: () => traces });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const toService = w.give(b.createNode(), "A");
  void (async () => {
    for await (const event of b) {
      if (event.kind === "message" && event.reply) void event.reply((event.payload as number) * 10);
    }
  })();
  // The first request carries the reply handle (a round); the rest are fast unicasts.
  const first = a.request(toService, 0);
  await w.run();
  assert.equal(await first, 0);
  const frames = () => {
    const link = a.stats().links.B;
    return (link?.framesOut ?? 0) + (link?.framesIn ?? 0);
  };
  const before = frames();
  const replies: unknown[] = [];
  const calls = 20;
  const loop = (async () => {
    for (let n = 1; n <= calls; n++) replies.push(await a.request(toService, n));
  })();
  await w.run();
  await loop;
  assert.deepEqual(
    replies,
    [...Array(calls).keys()].map((n) => (n + 1) * 10),
  );
  // Per round trip: the request (carrying the last reply's accept) and the reply (carrying the
  // request's). The last reply's accept goes alone at the end of its turn, and a pure ack may
  // follow: two frames more.
  const used = frames() - before;
  assert.ok(used <= 2 * calls + 2, `${used} frames for ${calls} round trips (4 each before B7)`);
  // Every event still decided: nothing held back by an accept that never went.
  assert.equal(a.stats().events.undecided, 0);
  assert.equal(b.stats().events.undecided, 0);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("B7: with no reply in the turn, the accept goes alone and the requester's next event is not held", async () => {
  const w = new SimWorld({ seed: 7, latency: { min: 5, max: 5 } });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.linkAll();
  const toB = w.give(b.createNode(), "A");
  const toC = w.give(c.createNode(), "A");
  await w.run();
  // B never answers: A's unicast to B is accepted by an accept frame of its own, one round trip
  // after the send, and A's next event, to C (held by R1 until then), goes at once after it.
  const start = w.scheduler.now();
  const one = a.send(toB, "to B");
  const two = a.send(toC, "to C");
  let decided = Infinity;
  void two.then(() => {
    decided = w.scheduler.now() - start;
  });
  await w.run();
  assert.ok((await one).ok && (await two).ok);
  // 5 ms to B, 5 back (the accept, at the end of B's turn), then A's round to C: 10 ms more.
  assert.ok(decided <= 20, `A's event to C decided after ${decided} ms`);
  await w.close();
});
