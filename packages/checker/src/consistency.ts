/**
 * Each delivery against the record that created its event: no duplicates (P6), no event that no
 * trace created, the right kind and destination, and timestamps that agree (one final per event,
 * naming its sender, rising along each peer's deliveries). The timestamps are checked here only as
 * claims of the implementation; no other check relies on them.
 */
import type { TraceTimestamp } from "@capbus/trace";
import { type Delivery, key, type Model, type Origin } from "./model.js";
import type { Collector } from "./report.js";

const KIND = { send: "message", destroy: "destroyed", release: "released" } as const;

/** Orders two trace timestamps: lamport, then sender peer id, then sender seq (spec/trace.md). */
export function compareTs(a: TraceTimestamp, b: TraceTimestamp): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

const tsString = (ts: TraceTimestamp) => JSON.stringify(ts);

export function checkConsistency(model: Model, out: Collector): void {
  const finals = new Map<string, TraceTimestamp>(); // event → the ts of its first delivery seen
  const owners = new Map<string, string>(); // ts → event that has it
  for (const [peer, list] of model.deliveries) {
    const seen = new Set<string>();
    let prev: Delivery | undefined;
    for (const d of list) {
      const r = d.record;
      const k = key(r.event, r.node);
      if (seen.has(k)) {
        out.violation("P6", `${peer} delivered ${r.event} at ${r.node} twice`, [r.event], [peer]);
      }
      seen.add(k);
      const o = model.origins.get(r.event);
      // A synthesized notification has no origin, but its timestamp claims hold like any other's
      // (W8, W11): one ts per id, and its place in the peer's rising order.
      if (o === undefined) unknown(model, out, d);
      else matchOrigin(out, d, o);

      const final = finals.get(r.event);
      if (final === undefined) finals.set(r.event, r.ts);
      else if (compareTs(final, r.ts) !== 0) {
        out.violation(
          "consistency",
          `${r.event} delivered with two timestamps, ${tsString(final)} and ${tsString(r.ts)}`,
          [r.event],
          [peer],
        );
      }
      const tsKey = tsString(r.ts);
      const other = owners.get(tsKey);
      if (other === undefined) owners.set(tsKey, r.event);
      else if (other !== r.event && !(o === undefined && !model.origins.has(other))) {
        // Two synthesized notifications (no origin) may share a ts: each survivor takes it from
        // its own clock (spec/ordering.md §7.1 L1); at one peer, the rising order below keeps them apart.
        out.violation(
          "consistency",
          `${other} and ${r.event} share timestamp ${tsKey}`,
          [other, r.event],
          [peer],
        );
      }
      if (prev !== undefined && prev.record.event !== r.event && compareTs(prev.record.ts, r.ts) >= 0) {
        out.violation(
          "consistency",
          `${peer} delivered ${r.event} ${tsKey} after ${prev.record.event} ${tsString(prev.record.ts)}: not in timestamp order`,
          [prev.record.event, r.event],
          [peer],
        );
      }
      prev = d;
    }
  }
}

/** A delivery of an event no record created: a synthesized notification, or a violation. */
function unknown(model: Model, out: Collector, d: Delivery): void {
  const r = d.record;
  const cause = r.ts[1];
  if (!model.traces.has(cause)) {
    out.excuse("sender untraced");
    return;
  }
  const owner = model.owners.get(r.node);
  const synthesized =
    r.kind !== "message" &&
    (model.crashedTo(d.peer, cause) ||
      (r.kind === "destroyed" && owner !== undefined && model.crashedTo(d.peer, owner)));
  if (synthesized) out.excuse("synthesized notification");
  else
    out.violation("P6", `${d.peer} delivered ${r.event}, which no trace created`, [r.event], [d.peer, cause]);
}

function matchOrigin(out: Collector, d: Delivery, o: Origin): void {
  const r = d.record;
  const o2 = o.record;
  const fail = (why: string) =>
    out.violation("consistency", `${d.peer}: ${r.event} ${why}`, [r.event], [d.peer, o.peer]);
  if (KIND[o2.op] !== r.kind) {
    fail(`delivered as ${r.kind} but created by ${o2.op}`);
    return;
  }
  if (r.ts[1] !== o.peer) fail(`has timestamp ${tsString(r.ts)} naming ${r.ts[1]}, not its sender ${o.peer}`);
  if (o2.op === "send") {
    if (!o2.to.some((p, i) => p === d.peer && o2.nodes[i] === r.node))
      fail(`delivered at ${r.node}, not a destination`);
    const got = JSON.stringify([...r.handles, ...r.dead].sort());
    const sent = JSON.stringify([...o2.handles].sort());
    if (got !== sent) fail(`carries handles ${got}, not the ${sent} sent`);
  } else if (o2.op === "destroy") {
    if (!o2.nodes.includes(r.node)) fail(`notifies ${r.node}, which it did not destroy`);
  } else if (o2.node !== r.node) fail(`notifies ${r.node}, not the released ${o2.node}`);
}
