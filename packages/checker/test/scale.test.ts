import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces } from "@capbus/checker";
import type { TraceRecord } from "@capbus/trace";
import { TraceBuilder } from "./builder.js";

/**
 * A run of a sequential bus: every event is delivered everywhere before the next is sent, so the
 * trace is correct by construction. Multicasts, handle passing, destroys and releases included.
 */
function sequentialRun(seed: number, peers: number, deliveries: number): TraceBuilder {
  let state = seed;
  const rand = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const names = Array.from({ length: peers }, (_, i) => `p${i}`);
  const b = new TraceBuilder().start(...names);
  const holders = new Map<string, Set<string>>(); // live handle node → holders
  let n = 0;
  while (b.deliveries < deliveries) {
    const s = names[rand(peers)]!;
    const roll = rand(100);
    const held = [...holders.keys()];
    if (roll < 5 && held.length > 0) {
      const node = held[rand(held.length)]!;
      const owner = node.split("/")[0]!;
      const e = `x${n++}`;
      b.destroy(owner, e, [node]).deliver(owner, e, node);
      for (const h of holders.get(node)!) b.deliver(h, e, node);
      holders.delete(node);
    } else if (roll < 10 && held.length > 0) {
      const node = held[rand(held.length)]!;
      const hs = [...holders.get(node)!];
      const h = hs[rand(hs.length)];
      if (h === undefined) continue;
      const e = `r${n++}`;
      b.release(h, e, node).deliver(node.split("/")[0]!, e, node);
      holders.get(node)!.delete(h);
    } else {
      const dests = [...new Set([names[rand(peers)]!, names[rand(peers)]!, names[rand(peers)]!])].slice(
        0,
        1 + rand(3),
      );
      const handle = roll < 20 ? `${s}/h${n}` : undefined;
      const e = `m${n++}`;
      b.send(
        s,
        e,
        dests.map((d) => `${d}/1`),
        handle === undefined ? [] : [handle],
      );
      for (const d of dests) b.deliver(d, e, `${d}/1`);
      if (handle !== undefined) holders.set(handle, new Set(dests.filter((d) => d !== s)));
    }
  }
  return b.close(...names);
}

test("a generated run with 50,000+ deliveries passes, quickly", (t) => {
  const b = sequentialRun(7, 16, 50_000);
  const traces = b.traces();
  const started = performance.now();
  const r = checkTraces(traces);
  const ms = performance.now() - started;
  t.diagnostic(`checked ${r.counts.deliveries} deliveries of ${r.counts.peers} peers in ${ms.toFixed(0)} ms`);
  assert.deepEqual(r.violations, []);
  assert.ok(r.counts.deliveries >= 50_000);
  assert.ok(r.counts.deliveriesByKind.destroyed > 0 && r.counts.deliveriesByKind.released > 0);
});

test("one swap of two deliveries in a large run is caught", () => {
  const traces = sequentialRun(11, 8, 20_000).traces();
  const list = traces.get("p3")!;
  const i = list.findIndex(
    (r, j): boolean =>
      j > list.length / 2 &&
      r.op === "deliver" &&
      r.kind === "message" &&
      list[j + 1]?.op === "deliver" &&
      (list[j + 1] as Extract<TraceRecord, { op: "deliver" }>).event !== r.event,
  );
  assert.ok(i > 0);
  [list[i], list[i + 1]] = [list[i + 1]!, list[i]!];
  const r = checkTraces(traces);
  assert.equal(r.ok, false);
  assert.ok(r.violationCounts.consistency > 0); // out of timestamp order at p3
});
