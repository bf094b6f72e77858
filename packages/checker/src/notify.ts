/**
 * P5 notification order, per peer in its own order: a handle held live when its node is destroyed
 * gets exactly one destroyed notification; nothing for a destroyed node follows its notification
 * (no message to the owner, no live handle, no release notification); and no notification reaches
 * a peer that never held the handle (it is discarded, ordering.md trap 2).
 *
 * A notification synthesized for a lost owner (no trace created it: W4 of guarantees.md) holds
 * until a `link` record shows a new session with that owner, in which its nodes may come back
 * live.
 */
import type { Model } from "./model.js";
import type { Collector } from "./report.js";

export function checkNotifications(model: Model, out: Collector): void {
  // Nodes some destroy record names: their live holders are owed a notification.
  const destroyedBy = new Map<string, string>();
  for (const o of model.origins.values()) {
    if (o.record.op !== "destroy" || model.aborts.get(o.event) === o.peer) continue;
    for (const n of o.record.nodes) if (!destroyedBy.has(n)) destroyedBy.set(n, o.event);
  }

  for (const [peer, records] of model.traces) {
    const held = new Map<string, string>(); // node → how this peer got it live
    const everHeld = new Set<string>();
    const notified = new Map<string, string>(); // node → destroy event delivered here
    const synthesized = new Map<string, string>(); // node → lost peer, for synthesized notifications
    const contact = (owner: string) => {
      for (const [node, lost] of synthesized) {
        if (lost !== owner) continue;
        synthesized.delete(node);
        notified.delete(node);
      }
    };
    const hold = (node: string, how: string) => {
      everHeld.add(node);
      if (!notified.has(node)) held.set(node, how);
    };
    const after = (node: string, event: string, what: string) => {
      const d = notified.get(node);
      if (d !== undefined) {
        out.violation(
          "P5",
          `${peer} delivered ${what} after its destroyed notification ${d}`,
          [event, d],
          [peer],
        );
      }
    };
    for (const r of records) {
      if (r.op === "link") contact(r.other);
      if (r.op === "import") hold(r.node, "import");
      // A release with `holder` gives back references counted for a transfer that never
      // arrived; it does not end the peer's own holding.
      else if (r.op === "release" && r.holder === undefined) held.delete(r.node);
      else if (r.op === "deliver") {
        if (r.kind === "message") {
          after(r.node, r.event, `message ${r.event} for its node ${r.node}`);
          for (const h of r.handles) {
            after(h, r.event, `a live handle to ${h} in ${r.event}`);
            hold(h, r.event);
          }
        } else if (r.kind === "released") {
          after(r.node, r.event, `release notification ${r.event} for ${r.node}`);
        } else {
          const earlier = notified.get(r.node);
          if (earlier !== undefined && earlier !== r.event) {
            out.violation(
              "P5",
              `${peer} got two destroyed notifications for ${r.node}: ${earlier} and ${r.event}`,
              [earlier, r.event],
              [peer],
            );
          }
          if (model.owners.get(r.node) !== peer && !everHeld.has(r.node)) {
            out.violation(
              "P5",
              `${peer} got destroyed notification ${r.event} for ${r.node}, a handle it never held`,
              [r.event],
              [peer],
            );
          }
          if (earlier === undefined) notified.set(r.node, r.event);
          // The lost peer is in the synthesized timestamp (spec/trace.md W11).
          if (earlier === undefined && !model.origins.has(r.event)) synthesized.set(r.node, r.ts[1]);
          held.delete(r.node);
        }
      }
    }
    for (const [node, how] of held) {
      const destroy = destroyedBy.get(node);
      if (destroy === undefined || model.owners.get(node) === peer) continue;
      const owner = model.owners.get(node);
      if (model.crashedTo(peer, peer)) out.excuse("holder crashed");
      else if (owner !== undefined && model.crashedTo(peer, owner)) out.excuse("owner crashed or expired");
      else {
        out.violation(
          "P5",
          `${peer} held ${node} (from ${how}) but never got destroyed notification ${destroy}`,
          [destroy],
          [peer, ...(owner === undefined ? [] : [owner])],
        );
      }
    }
  }
}
