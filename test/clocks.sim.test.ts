/**
 * The hybrid logical clock's rules (spec/ordering.md §2 H1-H2b) on the simulated network, with
 * virtual time and per-peer wall clocks: old and fresh peers link, hostile values neither
 * partition nor exhaust, chains of skewed hosts keep their links, and a host whose clock is too
 * far off is told at connect.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import type { Peer, PeerEvent } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { scripted } from "./support/scripted-peer.js";

/** Clock values per millisecond (H1). */
const TICK = 2 ** 11;
const ADOPT_MS = 5_000;
const REFUSE_MS = 35_000;

/** Every event `peer` delivers, as it delivers it. */
function collect(peer: Peer): PeerEvent[] {
  const events: PeerEvent[] = [];
  void (async () => {
    for await (const event of peer) events.push(event);
  })();
  return events;
}

const payloads = (events: PeerEvent[]) => events.flatMap((e) => (e.kind === "message" ? [e.payload] : []));

/** The most a peer's clock may read at virtual time `now` with its wall clock `offset` ahead (H2, H2b). */
const cap = (now: number, offset = 0) => (now + offset + ADOPT_MS + 1) * TICK;

test("a peer with a long history links with a fresh one, and neither refuses the other", async () => {
  const world = new SimWorld({ seed: 3, latency: { min: 1, max: 20 } });
  const old = world.addPeer("O");
  const busy = world.addPeer("B");
  world.link("O", "B");
  const atOld = old.createNode();
  const toOld = world.give(atOld, "B");
  const history = collect(old);
  // 2^33 ticks' worth of history: 2^22 ms of wall time at 2^11 ticks per ms, with traffic.
  for (let i = 0; i < 64; i++) {
    void busy.send(toOld, i);
    await world.scheduler.advance(2 ** 22 / 64);
  }
  await world.run();
  assert.equal(history.length, 64);
  // Past 2^32: version 1 made a fresh peer refuse such a clock (E_CLOCK_JUMP).
  assert.ok(old.clock >= 2 ** 32, `O's clock (${old.clock}) reflects its history`);

  const fresh = world.addPeer("F");
  world.link("O", "F");
  world.link("B", "F");
  const atFresh = fresh.createNode();
  const fromOld = world.give(atFresh, "O");
  const fromBusy = world.give(atFresh, "B");
  const toOldFromFresh = world.give(atOld, "F");
  const atF = collect(fresh);
  const sends = [old.send(fromOld, "o"), busy.send(fromBusy, "b"), fresh.send(toOldFromFresh, "f")];
  await world.run();
  for (const result of await Promise.all(sends)) assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(payloads(atF).sort(), ["b", "o"]);
  assert.deepEqual(fresh.linkedPeers.sort(), ["B", "O"], "no link closed");
  assert.ok(old.linkedPeers.includes("F"));

  // A long-running peer's value as it reaches a fresh peer over the wire (version 1 refused any
  // value 2^32 above a fresh peer's clock with E_CLOCK_JUMP).
  const late = world.addPeer("L");
  const peer = scripted(late, "H");
  const node = late.createNode();
  late.grant(node, "H");
  const value = world.scheduler.now() * TICK + 2_000; // a busy clock: 2000 ticks this millisecond
  peer.push({ type: "unicast", event: 1, clock: value, node: node.id, payload: "from the old system" });
  await world.run({ maxTime: 1 }); // the accept is held to the end of the turn (B7)
  assert.equal(peer.link.closed, undefined);
  assert.deepEqual(
    peer.frames().map((f) => (f.type === "accept" ? "accept" : f.type)),
    ["accept"],
  );
  assert.ok(late.clock > value);
  peer.link.remoteClose("E_LINK_BROKEN", "the test is over"); // a scripted peer answers no destroy
  await world.close();
});

test("two frames of +2^32 from a peer holding no capability change nothing at the victim", async () => {
  const world = new SimWorld({ seed: 5, latency: { min: 1, max: 10 } });
  const victim = world.addPeer("V");
  const h1 = world.addPeer("H1");
  const h2 = world.addPeer("H2");
  world.linkAll();
  await world.scheduler.advance(60_000);
  const atH1 = h1.createNode();
  const atV = victim.createNode();
  const toH1 = world.give(atH1, "V");
  const fromH2 = world.give(atV, "H2");
  const attacker = scripted(victim, "X");
  const clock = victim.clock;
  const depth = victim.stats().queue.depth;
  // The attack of issue 17: `destroy` frames, no handle needed, each 2^32 ahead.
  attacker.push({ type: "destroy", event: 1, clock: clock + 2 ** 32, nodes: [1] });
  attacker.push({ type: "destroy", event: 2, clock: clock + 2 ** 33, nodes: [1] });
  assert.equal(victim.clock, clock, "the victim's clock did not move");
  assert.equal(victim.stats().queue.depth, depth, "nor its queue");
  assert.equal(attacker.link.closed?.code, "E_CLOCK_SKEW", "the attacker's own link is closed");

  // Honest peers keep linking with the victim, both ways, and newcomers too.
  const atH1Events = collect(h1);
  const atVEvents = collect(victim);
  const sent = [victim.send(toH1, "v->h1"), h2.send(fromH2, "h2->v")];
  await world.run();
  for (const result of await Promise.all(sent)) assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(payloads(atH1Events), ["v->h1"]);
  assert.deepEqual(payloads(atVEvents), ["h2->v"]);
  const newcomer = world.addPeer("N");
  world.link("N", "V");
  const toV = world.give(atV, "N");
  const late = await Promise.all([newcomer.send(toV, "n->v"), world.run()]);
  assert.ok(late[0].ok);
  assert.deepEqual(victim.linkedPeers.sort(), ["H1", "H2", "N"]);
  await world.close();
});

test("a peer pushing values keeps no clock more than clockAdoptMs ahead: exhaustion is impossible", async () => {
  const world = new SimWorld({ seed: 7, latency: { min: 1, max: 10 } });
  const victim = world.addPeer("V");
  const honest = world.addPeer("H");
  world.link("V", "H");
  const atV = victim.createNode();
  const fromHonest = world.give(atV, "H");
  const atH = honest.createNode();
  const toHonest = world.give(atH, "V");
  // The pusher holds a handle: its unicasts are authorised, and carry the largest value allowed.
  const pusher = scripted(victim, "X");
  victim.grant(atV, "X");
  const atVEvents = collect(victim);
  const atHEvents = collect(honest);
  let event = 0;
  let maxSeen = 0;
  for (let i = 0; i < 600; i++) {
    const now = world.scheduler.now();
    pusher.push({
      type: "unicast",
      event: ++event,
      clock: (now + REFUSE_MS) * TICK,
      node: atV.id,
      payload: i,
    });
    if (i % 10 === 0) void honest.send(fromHonest, `h${i}`);
    if (i % 10 === 5) void victim.send(toHonest, `v${i}`);
    await world.scheduler.advance(100);
    assert.ok(
      victim.clock <= cap(world.scheduler.now()),
      `V's clock ${victim.clock} within the adopt offset`,
    );
    assert.ok(honest.clock <= cap(world.scheduler.now()), `H's clock ${honest.clock} too`);
    maxSeen = Math.max(maxSeen, victim.clock);
  }
  await world.scheduler.advance(REFUSE_MS);
  await world.run();
  assert.equal(pusher.link.closed, undefined, "the pusher's values are within the refuse offset");
  assert.equal(payloads(atVEvents).filter((p) => typeof p === "number").length, 600, "all applied, late");
  assert.equal(payloads(atVEvents).filter((p) => typeof p === "string").length, 60, "the honest peer's too");
  assert.equal(payloads(atHEvents).length, 60);
  assert.deepEqual(victim.linkedPeers.sort(), ["H", "X"]);
  assert.ok(maxSeen > world.scheduler.now() * TICK - REFUSE_MS * TICK, "the pushes did move the clock");
  pusher.link.remoteClose("E_LINK_BROKEN", "the test is over"); // a scripted peer answers no destroy
  await world.close();
});

/**
 * Five peers in a chain P0-P1-P2-P3-P4, each host's wall clock `hopMs` ahead of the previous one,
 * each peer multicasting to its neighbours every `everyMs` and unicasting to its right one.
 */
async function chain(hopMs: number, everyMs: number, rounds: number) {
  const sink = new MemoryTraceSink();
  const world = new SimWorld({ seed: 11, latency: { min: 1, max: 30 }, traceFor: () => sink });
  const ids = ["P0", "P1", "P2", "P3", "P4"];
  const closes: string[] = [];
  const logger = { warn: (_: string, fields?: Record<string, unknown>) => closes.push(String(fields?.code)) };
  const peers = ids.map((id, i) => world.addPeer(id, { wallOffsetMs: i * hopMs, logger }));
  for (let i = 0; i + 1 < ids.length; i++) world.link(ids[i] as string, ids[i + 1] as string);
  const nodes = peers.map((p) => p.createNode());
  const right = peers.map((_, i) => (i + 1 < peers.length ? world.give(nodes[i + 1]!, ids[i]!) : undefined));
  const left = peers.map((_, i) => (i > 0 ? world.give(nodes[i - 1]!, ids[i]!) : undefined));
  const delivered = peers.map((p) => collect(p));
  let maxOver = -Infinity; // how far any clock got past its own wall clock + A, in ms
  for (let round = 0; round < rounds; round++) {
    for (const [i, p] of peers.entries()) {
      const to = [left[i], right[i]].filter((h) => h !== undefined);
      // A closed link shows in the results below; its sends' failures need no handling here.
      p.send(to.length === 1 ? to[0]! : to, `${ids[i]}:${round}`).catch(() => undefined);
      if (right[i]) p.send(right[i]!, `${ids[i]}>${round}`).catch(() => undefined);
    }
    for (let t = 0; t < everyMs; t += 500) {
      await world.scheduler.advance(500);
      for (const [i, p] of peers.entries()) {
        const over = p.clock / TICK - (world.scheduler.now() + i * hopMs + ADOPT_MS);
        maxOver = Math.max(maxOver, over);
      }
    }
  }
  await world.scheduler.advance(REFUSE_MS);
  await world.run();
  const linked = peers.map((p) => p.linkedPeers.length);
  const counts = delivered.map((d) => payloads(d).length);
  await world.close();
  return { linked, counts, closes, maxOver, report: checkTraces(sink.byPeer) };
}

test("a chain of 5 peers whose wall clocks are 12 s apart each hop (48 s end to end) never closes a link", async () => {
  // Each hop's skew is within the margin (R - A - 1); the ends are further apart than R, and
  // would refuse each other if linked: the bound does not compound along the chain. (Applying a
  // value before its wait, the clocks would carry P4's 48 s lead leftwards, and P1 would refuse P2.)
  const run = await chain(12_000, 30_000, 6);
  assert.deepEqual(run.closes, [], "no session closed, by E_CLOCK_SKEW or a stage timeout");
  assert.deepEqual(run.linked, [1, 2, 2, 2, 1]);
  // Every multicast (a unicast at the ends) reaches each neighbour, every right-hand unicast its
  // right neighbour.
  assert.deepEqual(run.counts, [6, 6 + 6 + 6, 6 + 6 + 6, 6 + 6 + 6, 6 + 6]);
  assert.ok(run.maxOver <= 1, `no clock passed its wall clock + A + 1 ms (by ${run.maxOver} ms)`);
  assert.ok(run.report.ok, formatReport(run.report));
});

test("a chain of 5 peers whose wall clocks are 1 s apart each hop, under load, never closes a link", async () => {
  const run = await chain(1_000, 500, 40);
  assert.deepEqual(run.closes, []);
  assert.deepEqual(run.linked, [1, 2, 2, 2, 1]);
  assert.deepEqual(run.counts, [40, 120, 120, 120, 80]);
  assert.ok(run.maxOver <= 1, `no clock passed its wall clock + A + 1 ms (by ${run.maxOver} ms)`);
  assert.ok(run.report.ok, formatReport(run.report));
});

test("a host whose wall clock is off by more than the margin is refused at connect with E_CLOCK_SKEW", async () => {
  const world = new SimWorld({ seed: 13 });
  const codes: unknown[] = [];
  const logger = { info: (_: string, fields?: Record<string, unknown>) => codes.push(fields?.code) };
  const a = world.addPeer("A", { logger });
  // The margin is R - A - 1 = 29.999 s. The check errs by the hello's latency (a few ms here),
  // towards linking: B, 30.1 s ahead, is refused; C, 29.999 s ahead, is not.
  const b = world.addPeer("B", { wallOffsetMs: REFUSE_MS - ADOPT_MS + 100 });
  const c = world.addPeer("C", { wallOffsetMs: REFUSE_MS - ADOPT_MS - 1 });
  world.link("A", "B");
  world.link("A", "C");
  await world.run();
  assert.deepEqual(a.linkedPeers, ["C"], "A links with C, not with B");
  assert.deepEqual(b.linkedPeers, []);
  assert.deepEqual(c.linkedPeers, ["A"]);
  assert.ok(codes.includes("E_CLOCK_SKEW"), `A's log names the cause: ${JSON.stringify(codes)}`);
  await world.close();
});
