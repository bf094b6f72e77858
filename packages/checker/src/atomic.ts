/**
 * Delivery expectations: P4 multicast atomicity, an aborted round delivered nowhere, and no lost
 * event (P6) — each send reaches each destination node, each destroy reaches its owner, each
 * release reaches the node's owner, unless one of the excuses in spec/trace.md applies.
 */
import { happenedBefore } from "./clocks.js";
import { key, type Model, type Origin } from "./model.js";
import type { Collector } from "./report.js";

export function checkDelivery(model: Model, out: Collector): void {
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
    if (r.op === "send") checkSend(model, out, o, r.to, r.nodes);
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

function checkSend(model: Model, out: Collector, o: Origin, to: string[], nodes: string[]): void {
  const missing: number[] = [];
  to.forEach((peer, i) => {
    if (!has(model, o.event, nodes[i]!, peer)) missing.push(i);
  });
  if (missing.length === 0) return;
  const partial = missing.length < to.length;
  for (const i of missing) {
    const peer = to[i]!;
    const node = nodes[i]!;
    const why = excuse(model, o, peer, node);
    if (why !== undefined) out.excuse(partial ? (WINDOW[why] ?? why) : why);
    else if (partial) {
      out.violation(
        "P4",
        `${o.event} from ${o.peer} was delivered at some destinations but not at ${node} of ${peer}`,
        [o.event],
        [o.peer, peer],
      );
    } else
      out.violation(
        "P6",
        `${o.event} from ${o.peer} was delivered nowhere (lost)`,
        [o.event],
        [o.peer, peer],
      );
  }
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
  for (const d of model.destroyedAt.get(key(peer, node)) ?? []) {
    const destroy = model.origins.get(d.record.event);
    if (destroy === undefined || !happenedBefore(o, destroy)) return "destination node destroyed";
  }
  return undefined;
}
