/**
 * P2 causality and P3 FIFO, one pass per peer. Walking a peer's deliveries in order, `maxSeen[s]`
 * is the largest clock entry for sender s over the events delivered so far. A later delivery of e,
 * created at step k of s, breaks P2 iff maxSeen[s] >= k: some earlier-delivered event's clock
 * covers the creation of e, so e -> that event. Cost: O(peers) per delivery.
 */
import { key, type Model } from "./model.js";
import type { Collector } from "./report.js";

export function checkCausality(model: Model, out: Collector): void {
  const n = model.peers.length;
  for (const [peer, list] of model.deliveries) {
    const maxSeen = new Int32Array(n);
    const witness: string[] = new Array<string>(n).fill("");
    // FIFO: per (sender, node), the latest send step delivered so far.
    const fifo = new Map<string, { step: number; event: string }>();
    for (const d of list) {
      const o = model.origins.get(d.record.event);
      if (o?.vc === undefined) continue;
      const k = o.step;
      const fk = key(o.peer, d.record.node);
      const last = fifo.get(fk);
      let fifoBroken = false;
      if (last !== undefined && last.step > k) {
        fifoBroken = true;
        out.violation(
          "P3",
          `${peer} delivered ${last.event} before ${o.event} at node ${d.record.node}, though ${o.peer} sent ${o.event} first`,
          [o.event, last.event],
          [peer, o.peer],
        );
      } else fifo.set(fk, { step: k, event: o.event });
      if (!d.first) continue;
      if (!fifoBroken && maxSeen[o.peerIx]! >= k) {
        const later = witness[o.peerIx]!;
        out.violation(
          "P2",
          `${peer} delivered ${later} before ${o.event}, though ${o.event} -> ${later}`,
          [o.event, later],
          [peer, o.peer],
        );
      }
      const vc = o.vc;
      for (let i = 0; i < n; i++) {
        if (vc[i]! > maxSeen[i]!) {
          maxSeen[i] = vc[i]!;
          witness[i] = o.event;
        }
      }
    }
  }
}
