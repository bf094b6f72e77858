/**
 * Batched rounds (spec/ordering.md §14, rules B1-B9) through the public API on the simulated
 * network: what each rule promises, the trap 1 counterexample across batches, and the two clock
 * rules random schedules rarely break (a batch's final above the sender's clock, and a fast
 * batch's final above the sender's clock carried in its frame).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareTimestamps, type Handle, type Peer, type PeerEvent, type Timestamp } from "@capbus/core";
import { SimWorld } from "@capbus/sim";

const fast = { min: 1, max: 1 };
const slow = { min: 50, max: 50 };

/** Every event `peer` delivers, as it delivers it, until it closes. */
function record(peer: Peer): PeerEvent[] {
  const events: PeerEvent[] = [];
  void (async () => {
    for await (const event of peer) events.push(event);
  })();
  return events;
}

function messages(events: readonly PeerEvent[]): { payload: unknown; ts: Timestamp }[] {
  return events.flatMap((e) => (e.kind === "message" ? [{ payload: e.payload, ts: e.ts }] : []));
}

function framesOut(peer: Peer, remote: string): number {
  return peer.stats().links[remote]?.framesOut ?? 0;
}

test("B1, B2: unicasts of one turn to one peer go as one fast batch, one final, in send order", async () => {
  const w = new SimWorld({ seed: 1, latency: fast });
  const a = w.addPeer("A");
  const b = w.addPeer("B");
  w.link("A", "B");
  const toB = w.give(b.createNode(), "A");
  await w.run();
  const atB = record(b);
  const before = framesOut(a, "B");
  const sent = Promise.all([...Array(20).keys()].map((i) => a.send(toB, i)));
  await w.run();
  const results = await sent;
  assert.deepEqual(
    messages(atB).map((m) => m.payload),
    [...Array(20).keys()],
  );
  // The first found A idle and went alone (today's frame); the other 19 share one final.
  const finals = new Set(results.slice(1).map((r) => r.ts?.lamport));
  assert.equal(finals.size, 1, "one final for the batch");
  assert.ok(compareTimestamps(results[0]!.ts!, results[1]!.ts!) < 0);
  // One unicast and one unicasts frame, and at most one pure ack.
  assert.ok(framesOut(a, "B") - before <= 3, `${framesOut(a, "B") - before} frames`);
  await w.close();
});

test("B2, B3: multicasts of one turn share one stage, propose and commit frame per participant", async () => {
  const w = new SimWorld({ seed: 2, latency: fast });
  const [a, p, q, r] = ["A", "P", "Q", "R"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer, Peer];
  w.linkAll();
  const targets = [p, q, r].map((peer) => w.give(peer.createNode(), "A"));
  await w.run();
  const seen = [p, q, r].map(record);
  const before = [p, q, r].map((peer) => framesOut(a, peer.id));
  const sent = Promise.all([...Array(10).keys()].map((i) => a.send(targets, i)));
  await w.run();
  const results = await sent;
  for (const events of seen) {
    assert.deepEqual(
      messages(events).map((m) => m.payload),
      [...Array(10).keys()],
    );
  }
  // The first went alone; events 2-10 are one batch: one final (B3), ordered by seq (B1).
  assert.equal(new Set(results.slice(1).map((x) => x.ts?.lamport)).size, 1);
  for (const [i, peer] of [p, q, r].entries()) {
    // stage + commit for the first, then one stages and one commits frame for the batch.
    assert.equal(framesOut(a, peer.id) - (before[i] as number), 4, `frames to ${peer.id}`);
  }
  await w.close();
});

test("B5: unicasts alternating between two peers in one turn become one round batch, not a round trip each", async () => {
  const w = new SimWorld({ seed: 3, latency: { min: 10, max: 10 } });
  const [a, p, q] = ["A", "P", "Q"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.linkAll();
  const toP = w.give(p.createNode(), "A");
  const toQ = w.give(q.createNode(), "A");
  await w.run();
  const atP = record(p);
  const atQ = record(q);
  const start = w.scheduler.now();
  let took = Infinity;
  const sent = Promise.all([...Array(20).keys()].map((i) => a.send(i % 2 === 0 ? toP : toQ, i))).then(
    (all) => {
      took = w.scheduler.now() - start;
      return all;
    },
  );
  await w.run();
  const results = await sent;
  assert.ok(results.every((x) => x.ok));
  assert.deepEqual(
    messages(atP).map((m) => m.payload),
    [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
  );
  assert.deepEqual(
    messages(atQ).map((m) => m.payload),
    [1, 3, 5, 7, 9, 11, 13, 15, 17, 19],
  );
  // One event at a time would take a 20 ms round trip each (400 ms): the batch takes a few.
  assert.ok(took <= 60, `all decided after ${took} ms`);
  await w.close();
});

test("B8: aborting one event of an undecided round batch removes it; the rest of the batch goes on", async () => {
  const w = new SimWorld({ seed: 4, latency: { min: 10, max: 10 } });
  const [a, p, q] = ["A", "P", "Q"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.linkAll();
  const targets = [p, q].map((peer) => w.give(peer.createNode(), "A"));
  await w.run();
  const atP = record(p);
  const atQ = record(q);
  const controller = new AbortController();
  const sends = [0, 1, 2, 3].map((i) =>
    a.send(targets, i, i === 2 ? { signal: controller.signal } : {}).then(
      (x) => (x.ok ? "ok" : "failed"),
      (e: { code?: string }) => e.code,
    ),
  );
  await w.scheduler.advance(5); // staged (events 1-3 as one batch), no proposal back yet
  controller.abort();
  await w.run();
  assert.deepEqual(await Promise.all(sends), ["ok", "ok", "E_ABORTED", "ok"]);
  for (const events of [atP, atQ]) {
    assert.deepEqual(
      messages(events).map((m) => m.payload),
      [0, 1, 3],
    );
  }
  await w.close();
});

/**
 * Trap 1 across batches: e1 to P (slow link) and e2 to Q (fast) leave A in one batch, or e2 in
 * the next; Q delivers e2 and then sends e3 to P. P must deliver e1 before e3.
 */
for (const shape of ["one batch", "consecutive batches"] as const) {
  test(`trap 1 across batches (${shape}): e1 on a slow A-P link is delivered before e3, caused by e2`, async () => {
    const w = new SimWorld({ seed: 5 });
    const [a, p, q, r] = ["A", "P", "Q", "R"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer, Peer];
    w.link("A", "P", slow);
    w.link("A", "Q", fast);
    w.link("A", "R", fast);
    w.link("Q", "P", fast);
    const aToP = w.give(p.createNode(), "A");
    const aToQ = w.give(q.createNode(), "A");
    const aToR = w.give(r.createNode(), "A");
    const qToP = w.give(p.createNode(), "Q");
    await w.run();
    const atP = record(p);
    void (async () => {
      for await (const e of q) if (e.kind === "message" && e.payload === "e2") void q.send(qToP, "e3");
    })();
    void a.send(aToR, "e0"); // A was idle: e0 goes alone, and what follows in the turn is batched
    void a.send(aToP, "e1");
    if (shape === "one batch") void a.send(aToQ, "e2");
    else {
      void a.send(aToR, "e1b"); // e1 and e1b: a round batch to P and R
      await Promise.resolve(); // the turn ends: that batch is staged
      void a.send([aToQ, aToR], "e2"); // the next batch
    }
    await w.run();
    assert.deepEqual(
      messages(atP).map((m) => m.payload),
      ["e1", "e3"],
    );
    await w.close();
  });
}

/**
 * B3 with the sender's clock: F_b = max(C + 1, proposals). The batch {e1 to P, e2 to Q} is
 * staged (pipelined) while e0 is undecided; e0's final comes from R, whose wall clock runs 1 s
 * ahead, so it is far above what P and Q propose for the batch. Only C + 1 lifts the batch above
 * e0: without it P delivers e1 before e0 (P2 for one sender, P3).
 */
test("B3: a round batch's final is above its sender's clock, not only above the proposals", async () => {
  const w = new SimWorld({ seed: 6, latency: { min: 5, max: 5 } });
  const a = w.addPeer("A");
  const p = w.addPeer("P");
  const q = w.addPeer("Q");
  const r = w.addPeer("R", { wallOffsetMs: 1000 });
  w.linkAll();
  const toP = w.give(p.createNode(), "A");
  const toQ = w.give(q.createNode(), "A");
  const toR = w.give(r.createNode(), "A");
  await w.run();
  const atP = record(p);
  const e0 = a.send([toP, toR], "e0"); // A is idle: staged at once
  const e1 = a.send(toP, "e1"); // e1 and e2: one round batch, staged at the end of the turn
  const e2 = a.send(toQ, "e2");
  await w.run();
  const [r0, r1, r2] = await Promise.all([e0, e1, e2]);
  assert.ok(r0.ts && r1.ts && r2.ts);
  assert.equal(r1.ts.lamport, r2.ts.lamport, "e1 and e2 were one batch");
  assert.ok(compareTimestamps(r0.ts, r1.ts) < 0, "e1 after e0");
  assert.deepEqual(
    messages(atP).map((m) => m.payload),
    ["e0", "e1"],
  );
  await w.close();
});

/**
 * B2 fast with the sender's clock: F = max(C, clock) + 1 at the receiver. A delivers Z's event
 * ez (final above P's clock: A's wall clock runs 1 s ahead) and then sends P a fast batch; ez's
 * commit to P is still on its slow way. Without the clock carried in the batch, P commits the
 * batch below ez's final and delivers it before ez, although ez -> u1.
 */
test("B2: a fast batch is committed above the clock its sender carries, not only the receiver's", async () => {
  const w = new SimWorld({ seed: 7 });
  const z = w.addPeer("Z");
  const a = w.addPeer("A", { wallOffsetMs: 1000 });
  const p = w.addPeer("P");
  const q = w.addPeer("Q");
  w.link("Z", "A", fast);
  w.link("Z", "P", slow);
  w.link("A", "P", fast);
  w.link("A", "Q", fast);
  const zToA = w.give(a.createNode(), "Z");
  const zToP = w.give(p.createNode(), "Z");
  const aToP = w.give(p.createNode(), "A");
  const aToQ = w.give(q.createNode(), "A");
  await w.run();
  const atP = record(p);
  void (async () => {
    for await (const e of a) {
      if (e.kind !== "message" || e.payload !== "ez") continue;
      // x makes A busy, so u1 and u2 wait behind it (B4) and then go as one `unicasts` frame.
      void a.send(aToQ, "x");
      void a.send(aToP, "u1");
      void a.send(aToP, "u2");
    }
  })();
  void z.send([zToA, zToP], "ez");
  await w.run();
  assert.deepEqual(
    messages(atP).map((m) => m.payload),
    ["ez", "u1", "u2"],
  );
  await w.close();
});

test("batch caps: maxEvents 1 sends every event in a frame of its own", async () => {
  const w = new SimWorld({ seed: 8, latency: fast });
  const a = w.addPeer("A", { batch: { maxEvents: 1 } });
  const b = w.addPeer("B");
  w.link("A", "B");
  const toB = w.give(b.createNode(), "A");
  await w.run();
  const before = framesOut(a, "B");
  const sent = Promise.all([...Array(10).keys()].map((i) => a.send(toB as Handle, i)));
  await w.run();
  await sent;
  assert.ok(framesOut(a, "B") - before >= 10, "ten unicast frames");
  assert.throws(
    () => w.addPeer("C", { batch: { maxEvents: 0 } }),
    (e: { code?: string }) => e.code === "E_OPTIONS",
  );
  await w.close();
});

function framesIn(peer: Peer, remote: string): number {
  return peer.stats().links[remote]?.framesIn ?? 0;
}

test("B7: a receiver answers all of one sender's fast batches of a turn in one accepts frame", async () => {
  const w = new SimWorld({ seed: 9, latency: fast });
  const a = w.addPeer("A", { batch: { maxEvents: 4 } });
  const b = w.addPeer("B");
  w.link("A", "B");
  const toB = w.give(b.createNode(), "A");
  await w.run();
  const atB = record(b);
  const out = framesOut(a, "B");
  const back = framesIn(a, "B");
  // One turn: the first alone, then 19 in frames of at most 4 events (the cap): 6 frames to B.
  const sent = Promise.all([...Array(20).keys()].map((i) => a.send(toB, i)));
  // Counted once all are decided, before any pure ack.
  const counted = sent.then(() => [framesOut(a, "B") - out, framesIn(a, "B") - back]);
  await w.run();
  const results = await sent;
  assert.ok(results.every((r) => r.ok));
  assert.deepEqual(
    messages(atB).map((m) => m.payload),
    [...Array(20).keys()],
  );
  const [toThere, answers] = await counted;
  assert.equal(toThere, 6, "one unicast and five unicasts frames");
  // They reach B in one turn: one accepts answers all six (before B7: six answers).
  assert.equal(answers, 1, "one answer frame for the turn's six batches");
  // Each frame still has its own final, in send order.
  const finals = results.map((r) => r.ts!);
  for (let i = 1; i < finals.length; i++) assert.ok(compareTimestamps(finals[i - 1]!, finals[i]!) < 0);
  await w.close();
});

test("B7: a participant proposes all of one sender's round batches of a turn in one proposals frame", async () => {
  const w = new SimWorld({ seed: 10, latency: fast });
  const [a, p, q] = [w.addPeer("A", { batch: { maxEvents: 3 } }), w.addPeer("P"), w.addPeer("Q")] as [
    Peer,
    Peer,
    Peer,
  ];
  w.linkAll();
  const targets = [p, q].map((peer) => w.give(peer.createNode(), "A"));
  await w.run();
  const seen = [p, q].map(record);
  const back = [p, q].map((peer) => framesIn(a, peer.id));
  // The first alone (stage, propose, commit); the other 9 in three round batches of 3.
  const sent = Promise.all([...Array(10).keys()].map((i) => a.send(targets, i)));
  // Counted once all are decided, before any pure ack.
  const counted = sent.then(() => [p, q].map((peer, i) => framesIn(a, peer.id) - (back[i] as number)));
  await w.run();
  const results = await sent;
  assert.ok(results.every((r) => r.ok));
  for (const events of seen) {
    assert.deepEqual(
      messages(events).map((m) => m.payload),
      [...Array(10).keys()],
    );
  }
  // One propose for the lone first event, one proposals for the three batches (before B7: 4).
  assert.deepEqual(await counted, [2, 2], "answers from P and Q");
  await w.close();
});
