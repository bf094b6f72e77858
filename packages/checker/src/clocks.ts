/**
 * Vector clocks rebuilt from the traces alone (spec/trace.md, "Happened-before"): the timestamps
 * under test are never used. Component i of a clock counts steps of peer i; delivering an event
 * merges the clock its sender had at the send step.
 */
import type { Model, Origin } from "./model.js";
import type { Collector } from "./report.js";

/**
 * Replays every trace, each peer in its own order, holding a peer back at a delivery until the
 * event's send step has been replayed. A trace where a delivery precedes its own send causally
 * cannot happen; it is reported and that delivery merges nothing.
 */
export function computeClocks(model: Model, out: Collector): void {
  const n = model.peers.length;
  const clocks = model.peers.map(() => new Int32Array(n));
  const cursor = new Int32Array(n);
  const waiting = new Map<string, number[]>();
  const ready: number[] = model.peers.map((_, i) => i);
  let blocked = 0;

  const run = (ix: number, force: boolean) => {
    const peer = model.peers[ix]!;
    const records = model.traces.get(peer)!;
    const clock = clocks[ix]!;
    while (cursor[ix]! < records.length) {
      const r = records[cursor[ix]!]!;
      if (r.op === "deliver") {
        const o = model.origins.get(r.event);
        if (o !== undefined && o.vc === undefined && !force) {
          const list = waiting.get(r.event);
          if (list === undefined) waiting.set(r.event, [ix]);
          else list.push(ix);
          blocked++;
          return;
        }
        force = false;
        if (o?.vc !== undefined) merge(clock, o.vc);
      }
      cursor[ix]!++;
      clock[ix] = cursor[ix]!;
      if (r.op === "send" || r.op === "destroy" || r.op === "release") {
        const o = model.origins.get(r.event);
        if (o !== undefined && o.peer === peer && o.step === cursor[ix]) {
          o.vc = clock.slice();
          const woken = waiting.get(r.event);
          if (woken !== undefined) {
            waiting.delete(r.event);
            blocked -= woken.length;
            ready.push(...woken);
          }
        }
      }
    }
  };

  for (;;) {
    while (ready.length > 0) run(ready.pop()!, false);
    if (blocked === 0) break;
    // Every unfinished peer waits for a send no peer can reach: a causal cycle. Break it at one.
    const [event, list] = waiting.entries().next().value as [string, number[]];
    const ix = list.pop()!;
    if (list.length === 0) waiting.delete(event);
    blocked--;
    const peer = model.peers[ix]!;
    const sender = model.origins.get(event)?.peer ?? "?";
    out.violation(
      "consistency",
      `${peer} delivered ${event} before its sender ${sender} could have sent it (a causal cycle)`,
      [event],
      [peer, sender],
    );
    run(ix, true);
  }
}

function merge(into: Int32Array, from: Int32Array): void {
  for (let i = 0; i < into.length; i++) if (from[i]! > into[i]!) into[i] = from[i]!;
}

/** `a -> b`: the step that created `a` happened before the one that created `b`. */
export function happenedBefore(a: Origin, b: Origin): boolean {
  return a !== b && b.vc !== undefined && b.vc[a.peerIx]! >= a.step;
}
