/**
 * Delivery expectations: P4 multicast atomicity, an aborted round delivered nowhere, and no lost
 * event (P6) — each send reaches each destination node, each destroy reaches its owner, each
 * release reaches the node's owner, unless one of the excuses in spec/trace.md applies.
 */
import { happenedBefore } from "./clocks.js";
import { compareTs } from "./consistency.js";
import { key, type Model, type Origin } from "./model.js";
import type { Collector, PartialCause } from "./report.js";

export function checkDelivery(model: Model, out: Collector, strict: boolean): void {
  for (const o of model.origins.values()) {
    const delivered = model.byEvent.get(o.event) ?? [];
    if (model.aborts.get(o.event) === o.peer) {
      for (const d of delivered) {
        out.violation(
          "P4",
          `${d.peer} delivered ${o.event}, which ${o.peer} aborted`,
          [o.event],
          [d.peer, o.peer],
        );
      }
      continue;
    }
    const r = o.record;
    if (r.op === "send") checkSend(model, out, o, r.to, r.nodes, strict);
    else if (r.op === "destroy") {
      for (const node of r.nodes) {
        if (has(model, o.event, node, o.peer)) continue;
        if (model.crashedTo(o.peer, o.peer)) out.excuse("owner crashed");
        else
          out.violation(
            "P5",
            `owner ${o.peer} never delivered its destroy ${o.event} of ${node}`,
            [o.event],
            [o.peer],
          );
      }
    }
    // A release is delivered (as `released`) only when it drops the last reference held outside
    // the owner (spec/ordering.md §10), which the trace alone does not tell: it is owed nothing.
  }
}

function checkSend(
  model: Model,
  out: Collector,
  o: Origin,
  to: string[],
  nodes: string[],
  strict: boolean,
): void {
  const missing: number[] = [];
  to.forEach((peer, i) => {
    if (!has(model, o.event, nodes[i]!, peer)) missing.push(i);
  });
  if (missing.length === 0) return;
  const partial = missing.length < to.length;
  if (partial) out.partial.events++;
  for (const i of missing) {
    const peer = to[i]!;
    const node = nodes[i]!;
    if (!partial) {
      const why = excuse(model, o, peer, node);
      if (why !== undefined) out.excuse(why);
      else
        out.violation(
          "P6",
          `${o.event} from ${o.peer} was delivered nowhere (lost)`,
          [o.event],
          [o.peer, peer],
        );
      continue;
    }
    const cause = partialCause(model, o, peer, node);
    out.partialMissing(cause);
    if (cause === "dropped, live holder") {
      out.violation(
        "P4",
        `${peer} dropped ${o.event} from ${o.peer} by reconciliation, yet a live destination delivered it`,
        [o.event],
        [o.peer, peer, ...holders(model, o).filter((h) => !model.isCrashed(h))],
      );
    } else if (strict) strictVerdict(out, o, peer, node, cause);
    else {
      // Version 1: the sender's loss excuses the missing destination (window W1).
      const why = excuse(model, o, peer, node);
      if (why !== undefined) out.excuse(WINDOW[why] ?? why);
      else violatePartial(out, o, peer, node, "");
    }
  }
}

/** Causes strict atomicity excuses (spec/trace.md §4.3); the rest are P4 violations. */
const STRICT_EXCUSED: ReadonlySet<PartialCause> = new Set([
  "fallback (W1)",
  "destination crashed",
  "node destroyed first (P4b)",
  "crashed holders only",
  "sender expired it first (P4a)",
]);

function strictVerdict(out: Collector, o: Origin, peer: string, node: string, cause: PartialCause): void {
  if (STRICT_EXCUSED.has(cause)) out.excuse(`partial multicast, ${cause}`);
  else if (cause === "unexplained") violatePartial(out, o, peer, node, "");
  else violatePartial(out, o, peer, node, ` (${cause}: no reconciliation fallback recorded)`);
}

function violatePartial(out: Collector, o: Origin, peer: string, node: string, why: string): void {
  out.violation(
    "P4",
    `${o.event} from ${o.peer} was delivered at some destinations but not at ${node} of ${peer}${why}`,
    [o.event],
    [o.peer, peer],
  );
}

/**
 * Why multicast `o`, delivered elsewhere, is missing at `node` of `peer`: the first that applies
 * of the causes of PartialCause, in its order.
 */
function partialCause(model: Model, o: Origin, peer: string, node: string): PartialCause {
  const settled = model.reconciles.get(key(peer, o.event));
  if (settled === "fallback") return "fallback (W1)";
  const live = holders(model, o).filter((h) => !model.isCrashed(h));
  // A drop is right only when no live destination committed, or the sender decided without
  // this one (its final was below this one's proposal: P4a).
  if (settled === "dropped" && live.length > 0 && !senderExpiredFirst(model, o, peer)) {
    return "dropped, live holder";
  }
  if (model.isCrashed(peer)) return "destination crashed";
  if (destroyedBeforeFinal(model, o, peer, node)) return "node destroyed first (P4b)";
  if (!model.crashedTo(peer, o.peer)) {
    // Alive to each other, yet the sender may never have had a session with it to stage in.
    return senderExpiredFirst(model, o, peer) ? "sender expired it first (P4a)" : "unexplained";
  }
  if (live.length === 0) return "crashed holders only";
  if (senderExpiredFirst(model, o, peer)) return "sender expired it first (P4a)";
  const reachable = live.some((h) => !model.crashedTo(peer, h));
  return reachable ? "sender lost, live reachable" : "sender lost, live unreachable";
}

/** The destination peers that delivered `o` (the sender among them when it is one). */
function holders(model: Model, o: Origin): string[] {
  return [...new Set((model.byEvent.get(o.event) ?? []).map((d) => d.peer))];
}

/**
 * P4(a): the sender's session with `peer` ended before it decided `o`, or it never had one (no
 * `link` of `peer`), so it decided without `peer`. The trace does not record the decision; its
 * bounds are the sender's `send` (a session that ended before it and never came back) and the
 * sender's own delivery of `o`, when it is a destination (it delivers only after deciding). An `expire` after the decision but before that
 * delivery (or at any time, when the sender delivers nothing) is excused too: spec/trace.md §4.4.
 */
function senderExpiredFirst(model: Model, o: Origin, peer: string): boolean {
  const own = (model.byEvent.get(o.event) ?? []).find((d) => d.peer === o.peer);
  const bound = own?.step ?? Number.POSITIVE_INFINITY;
  let expiredAt: number | undefined; // the sender's last expire of `peer` not followed by a link
  let linked = false;
  for (const mark of model.sessionMarks.get(key(o.peer, peer)) ?? []) {
    if (mark.step >= bound) break;
    if (mark.op === "expire") {
      if (mark.step > o.step) return true; // ended while the round ran
      expiredAt = mark.step;
    } else {
      linked = true;
      expiredAt = undefined; // a new session: a round sent after it includes `peer`
    }
  }
  // No session with `peer` at all (none completed its handshake): nothing was staged there.
  return expiredAt !== undefined || !linked;
}

/**
 * Delivered elsewhere but not here, counted apart: the first holds every hit of the v1 windows W1
 * and W3 (spec/guarantees.md §5) along with P4(a) cases a trace cannot tell from them.
 */
const WINDOW: Record<string, string> = {
  "sender crashed or expired": "partial multicast, sender lost (P4a, W1, W3)",
  "destination node destroyed": "partial multicast, node destroyed first (P4b)",
};

function has(model: Model, event: string, node: string, peer: string): boolean {
  return model.byEventNode.get(key(event, node))?.some((d) => d.peer === peer) ?? false;
}

/**
 * Why `o` may be missing at `node` of `peer`: one side crashed or expired the other, or `peer`
 * saw `node` destroyed by an event that `o` did not happen before (so the order may put the
 * destruction first, and then `o` is dropped there).
 */
function excuse(model: Model, o: Origin, peer: string, node: string): string | undefined {
  if (model.crashedTo(peer, o.peer)) return "sender crashed or expired";
  if (model.crashedTo(o.peer, peer)) return "destination crashed or expired";
  if (destroyedFirst(model, o, peer, node)) return "destination node destroyed";
  return undefined;
}

/**
 * P4b for a multicast delivered elsewhere, so with a known final: `peer` saw `node` destroyed by
 * an event `o` did not happen before and that the order puts before `o` (a lower `ts` than the
 * final the others delivered `o` at; W8, checked under consistency, makes `ts` one agreed order).
 * Without the second condition a destination that missed the commit and destroyed its node later
 * would pass for P4b.
 */
function destroyedBeforeFinal(model: Model, o: Origin, peer: string, node: string): boolean {
  const final = model.byEvent.get(o.event)?.[0]?.record.ts;
  for (const d of model.destroyedAt.get(key(peer, node)) ?? []) {
    if (final !== undefined && compareTs(d.record.ts, final) > 0) continue;
    const destroy = model.origins.get(d.record.event);
    if (destroy === undefined || !happenedBefore(o, destroy)) return true;
  }
  return false;
}

/** `peer` saw `node` destroyed by an event `o` did not happen before (P4b). */
function destroyedFirst(model: Model, o: Origin, peer: string, node: string): boolean {
  for (const d of model.destroyedAt.get(key(peer, node)) ?? []) {
    const destroy = model.origins.get(d.record.event);
    if (destroy === undefined || !happenedBefore(o, destroy)) return true;
  }
  return false;
}
