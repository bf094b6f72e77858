import assert from "node:assert/strict";
import { test } from "node:test";
import type { LinkClosedInfo, LinkHandler } from "@capbus/core";
import { LINK_CUT, type NetEvent, SimNetwork } from "@capbus/sim";

interface Recorder extends LinkHandler {
  readonly frames: { t: number; n: number }[];
  readonly closes: LinkClosedInfo[];
  readonly events: string[];
}

/** A handler that records frame numbers (first 4 bytes, little-endian) and closes, with times. */
function recorder(net: SimNetwork): Recorder {
  const frames: { t: number; n: number }[] = [];
  const closes: LinkClosedInfo[] = [];
  const events: string[] = [];
  return {
    frames,
    closes,
    events,
    frame(bytes) {
      const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
      frames.push({ t: net.now(), n });
      events.push(`f${n}`);
    },
    closed(info) {
      closes.push(info);
      events.push(`closed:${info.code}:${info.byRemote}`);
    },
  };
}

function frameOf(n: number, size = 8): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** A small mesh with random traffic; returns the delivery log (with virtual times). */
function meshRun(seed: number): string[] {
  const net = new SimNetwork({ seed });
  const log: string[] = [];
  net.observe((e) => {
    if (e.kind === "deliver") log.push(`${e.time} ${e.from}>${e.to} ${e.bytes[0]}`);
  });
  const names = ["a", "b", "c", "d"];
  const ends = new Map<string, ReturnType<SimNetwork["link"]>[0]>();
  for (const x of names) {
    for (const y of names) {
      if (x >= y) continue;
      const [ex, ey] = net.link(x, y);
      ex.attach({ frame() {}, closed() {} });
      ey.attach({ frame() {}, closed() {} });
      ends.set(`${x}${y}`, ex);
      ends.set(`${y}${x}`, ey);
    }
  }
  const all = [...ends.values()];
  for (let i = 0; i < 300; i++) {
    net.scheduler.setTimer(i, () => all[(i * 7) % all.length]!.send(Uint8Array.of(i & 0xff)));
  }
  net.scheduler.runUntilIdle();
  return log;
}

test("same seed gives an identical delivery log (incl. virtual times); another seed differs", () => {
  const a = meshRun(1234);
  assert.equal(a.length, 300);
  assert.deepEqual(meshRun(1234), a);
  assert.notDeepEqual(meshRun(1235), a);
});

test("per-direction FIFO holds under random latency (10k frames each way)", () => {
  const net = new SimNetwork({ seed: 99, latency: { min: 0, max: 50 } });
  const [a, b] = net.link("a", "b");
  const ra = recorder(net);
  const rb = recorder(net);
  a.attach(ra);
  b.attach(rb);
  const N = 10_000;
  // Sends spread over time, several per ms, interleaved in both directions.
  for (let i = 0; i < N; i++) {
    net.scheduler.setTimer(Math.floor(i / 4), () => {
      a.send(frameOf(i));
      b.send(frameOf(i));
    });
  }
  net.scheduler.runUntilIdle();
  for (const r of [ra, rb]) {
    assert.equal(r.frames.length, N);
    assert.deepEqual(
      r.frames.map((f) => f.n),
      Array.from({ length: N }, (_, i) => i),
    );
    for (let i = 1; i < N; i++) assert.ok(r.frames[i]!.t >= r.frames[i - 1]!.t);
  }
  const s = net.stats();
  assert.equal(s.totals.framesSent, 2 * N);
  assert.equal(s.totals.framesReceived, 2 * N);
  assert.equal(s.totals.bytesReceived, 2 * N * 8);
});

test("different links reorder: a later frame on a fast link overtakes an earlier one on a slow link", () => {
  const net = new SimNetwork({ seed: 5 });
  const [ap, pa] = net.link("a", "p", { latency: "slow" });
  const [aq, qa] = net.link("a", "q", { latency: "fast" });
  const arrivals: string[] = [];
  pa.attach({ frame: () => arrivals.push(`p@${net.now()}`), closed() {} });
  qa.attach({ frame: () => arrivals.push(`q@${net.now()}`), closed() {} });
  ap.send(frameOf(1)); // sent first, slow
  net.scheduler.runFor(1);
  aq.send(frameOf(2)); // sent later, fast
  net.scheduler.runUntilIdle();
  assert.equal(arrivals.length, 2);
  assert.match(arrivals[0]!, /^q@/);
  assert.match(arrivals[1]!, /^p@/);
});

test("with one latency profile for all links, cross-link reordering still happens", () => {
  const net = new SimNetwork({ seed: 6 }); // all "normal": 1-20 ms
  const sendOrder: number[] = [];
  const arrivalOrder: number[] = [];
  const senders = ["p", "q", "r"].map((to) => {
    const [out, inn] = net.link("a", to);
    inn.attach({ frame: (b) => arrivalOrder.push(b[0]!), closed() {} });
    return out;
  });
  for (let i = 0; i < 200; i++) {
    net.scheduler.setTimer(i, () => {
      sendOrder.push(i);
      senders[i % 3]!.send(Uint8Array.of(i));
    });
  }
  net.scheduler.runUntilIdle();
  let inversions = 0;
  for (let i = 1; i < arrivalOrder.length; i++) if (arrivalOrder[i]! < arrivalOrder[i - 1]!) inversions++;
  assert.equal(arrivalOrder.length, 200);
  assert.ok(inversions > 10, `only ${inversions} inversions`);
});

test("per-direction latency: slow a→b, fast b→a", () => {
  const net = new SimNetwork({ seed: 11 });
  const [a, b] = net.link("a", "b", { latency: { aToB: "slow", bToA: "fast" } });
  const times: number[] = [];
  const backTimes: number[] = [];
  b.attach({ frame: () => times.push(net.now()), closed() {} });
  a.attach({ frame: () => backTimes.push(net.now()), closed() {} });
  for (let i = 0; i < 50; i++) {
    net.scheduler.setTimer(i * 1000, () => {
      a.send(frameOf(i));
      b.send(frameOf(i));
    });
  }
  net.scheduler.runUntilIdle();
  assert.equal(times.length, 50);
  assert.ok(times.every((t, i) => t - i * 1000 >= 50 && t - i * 1000 <= 300));
  assert.ok(backTimes.every((t, i) => t - i * 1000 >= 0 && t - i * 1000 <= 2));
  // setLatency swaps them for new frames, in this call's argument order.
  net.setLatency("b", "a", { aToB: "slow", bToA: { min: 7, max: 7 } });
  const t0 = net.now();
  a.send(frameOf(0));
  net.scheduler.runUntilIdle();
  assert.equal(times.at(-1), t0 + 7);
});

test("cut loses frames in flight and notifies both ends once, as a task", () => {
  const net = new SimNetwork({ seed: 3, latency: { min: 10, max: 10 } });
  const [a, b] = net.link("a", "b");
  const ra = recorder(net);
  const rb = recorder(net);
  a.attach(ra);
  b.attach(rb);
  a.send(frameOf(1));
  net.scheduler.runFor(10); // frame 1 arrives
  a.send(frameOf(2));
  b.send(frameOf(3));
  net.scheduler.runFor(5);
  assert.equal(net.cut("b", "a"), 1);
  assert.equal(ra.closes.length, 0); // not synchronous
  a.send(frameOf(4)); // after the cut: dropped silently
  net.cut("a", "b"); // cutting again does nothing
  net.scheduler.runUntilIdle();
  assert.deepEqual(rb.events, ["f1", `closed:${LINK_CUT}:true`]);
  assert.deepEqual(ra.events, [`closed:${LINK_CUT}:true`]);
  assert.equal(ra.closes[0]!.code, "E_LINK_CUT");
  assert.equal(net.now(), 15); // dropped frames leave no tasks behind
  const s = net.stats();
  assert.equal(s.links[0]!.open, false);
  assert.equal(s.links[0]!.aEnd.framesLost, 1);
  assert.equal(s.links[0]!.bEnd.framesLost, 1);
  assert.equal(s.links[0]!.aEnd.framesSent, 2);
  // A reconnect is a new link between the same pair.
  const [a2, b2] = net.link("a", "b");
  const rb2 = recorder(net);
  b2.attach(rb2);
  a2.attach(recorder(net));
  a2.send(frameOf(5));
  net.scheduler.runUntilIdle();
  assert.deepEqual(rb2.events, ["f5"]);
});

test("close: local end gets closed(byRemote false); remote gets in-flight frames, then closed", () => {
  const net = new SimNetwork({ seed: 8, latency: { min: 1, max: 30 } });
  const [a, b] = net.link("a", "b");
  const ra = recorder(net);
  const rb = recorder(net);
  a.attach(ra);
  b.attach(rb);
  for (let i = 0; i < 20; i++) a.send(frameOf(i));
  b.send(frameOf(100)); // in flight towards the closer: lost
  a.close("OK", "done");
  a.send(frameOf(21)); // after close: dropped
  assert.deepEqual(ra.events, []);
  net.scheduler.runUntilIdle();
  assert.deepEqual(ra.events, ["closed:OK:false"]);
  assert.deepEqual(ra.closes, [{ code: "OK", reason: "done", byRemote: false }]);
  assert.deepEqual(rb.events, [...Array.from({ length: 20 }, (_, i) => `f${i}`), "closed:OK:true"]);
  assert.deepEqual(rb.closes, [{ code: "OK", reason: "done", byRemote: true }]);
  b.send(frameOf(1)); // the remote is closed too now
  b.close("OK", "again");
  net.scheduler.runUntilIdle();
  assert.equal(ra.closes.length + rb.closes.length, 2);
  assert.equal(net.stats().links[0]!.open, false);
  assert.equal(net.stats().links[0]!.bEnd.framesLost, 1);
});

test("frames arriving before attach are buffered and delivered in order at attach, as tasks", () => {
  const net = new SimNetwork({ seed: 2 });
  const [a, b] = net.link("a", "b");
  for (let i = 0; i < 5; i++) a.send(frameOf(i));
  net.scheduler.runUntilIdle();
  const rb = recorder(net);
  b.attach(rb);
  assert.deepEqual(rb.events, []); // not inside attach
  a.send(frameOf(5)); // arrives after the buffered ones
  a.close("E_BYE", "bye");
  net.scheduler.runUntilIdle();
  assert.deepEqual(rb.events, ["f0", "f1", "f2", "f3", "f4", "f5", "closed:E_BYE:true"]);
  assert.throws(() => b.attach(rb), /attach called twice/);
});

test("pause holds frames and closes to an endpoint until resume; FIFO is kept", () => {
  const net = new SimNetwork({ seed: 17, latency: "fast" });
  const [a, p] = net.link("a", "p");
  const [q, p2] = net.link("q", "p");
  const rp = recorder(net);
  const rp2 = recorder(net);
  p.attach(rp);
  p2.attach(rp2);
  a.attach(recorder(net));
  q.attach(recorder(net));
  a.send(frameOf(0));
  net.scheduler.runFor(5);
  net.pause("p");
  assert.equal(net.isPaused("p"), true);
  for (let i = 1; i < 5; i++) a.send(frameOf(i));
  q.send(frameOf(50));
  q.close("OK", "q leaves");
  net.scheduler.runFor(100);
  assert.deepEqual(rp.events, ["f0"]);
  assert.deepEqual(rp2.events, []);
  net.resume("p");
  a.send(frameOf(5)); // after resume: still behind the held ones
  net.scheduler.runUntilIdle();
  assert.deepEqual(rp.events, ["f0", "f1", "f2", "f3", "f4", "f5"]);
  assert.deepEqual(rp2.events, ["f50", "closed:OK:true"]);
});

test("frames are copied on send", () => {
  const net = new SimNetwork({ seed: 1 });
  const [a, b] = net.link("a", "b");
  const rb = recorder(net);
  b.attach(rb);
  const buf = frameOf(7);
  a.send(buf);
  buf.fill(0xff);
  net.scheduler.runUntilIdle();
  assert.deepEqual(rb.events, ["f7"]);
});

test("stats: endpoints outside an exchange receive nothing; cutAll isolates an endpoint", () => {
  const net = new SimNetwork({ seed: 21 });
  const pairs = [net.link("a", "b"), net.link("a", "c"), net.link("b", "c")];
  for (const [x, y] of pairs) {
    x.attach({ frame() {}, closed() {} });
    y.attach({ frame() {}, closed() {} });
  }
  const [ab] = pairs[0]!;
  for (let i = 0; i < 10; i++) ab.send(new Uint8Array(3));
  net.scheduler.runUntilIdle();
  const s = net.stats();
  assert.deepEqual(s.endpoints.get("c"), {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    framesLost: 0,
  });
  assert.equal(net.endpointStats("b").framesReceived, 10);
  assert.equal(net.endpointStats("b").bytesReceived, 30);
  assert.equal(net.endpointStats("a").bytesSent, 30);
  assert.equal(net.endpointStats("nobody").framesSent, 0);
  const closes: NetEvent[] = [];
  net.observe((e) => {
    if (e.kind === "closed") closes.push(e);
  });
  assert.equal(net.cutAll("a"), 2);
  net.scheduler.runUntilIdle();
  assert.equal(closes.length, 4);
  assert.deepEqual(
    net.stats().links.map((l) => l.open),
    [false, false, true],
  );
});

test("observer sees send, deliver, lost and closed; unsubscribe stops it", () => {
  const net = new SimNetwork({ seed: 4, latency: { min: 5, max: 5 } });
  const [a, b] = net.link("a", "b");
  b.attach({ frame() {}, closed() {} });
  a.attach({ frame() {}, closed() {} });
  const kinds: string[] = [];
  const off = net.observe((e) => kinds.push(e.kind));
  a.send(frameOf(1));
  net.scheduler.runFor(5);
  a.send(frameOf(2));
  net.cut("a", "b");
  net.scheduler.runUntilIdle();
  assert.deepEqual(kinds, ["send", "deliver", "send", "lost", "closed", "closed"]);
  off();
  net.link("a", "b")[0].send(frameOf(3));
  assert.equal(kinds.length, 6);
});
