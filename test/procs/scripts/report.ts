/** How the test scripts report a delivery to the test: kind, payload, sender, final timestamp. */
import type { PeerEvent } from "@capbus/node";

export interface DeliveryLine {
  readonly kind: PeerEvent["kind"];
  readonly payload?: unknown;
  /** The sending peer (event ids are `<sender peer>:<seq>`). */
  readonly from: string;
  readonly event: string;
  /** For destroyed notifications: the node and why. */
  readonly node?: string;
  readonly reason?: string;
}

export function deliveryLine(event: PeerEvent): { delivery: DeliveryLine } {
  const from = event.event.slice(0, event.event.lastIndexOf(":"));
  const base = { kind: event.kind, from, event: event.event };
  if (event.kind === "message") return { delivery: { ...base, payload: event.payload } };
  if (event.kind === "destroyed") {
    return { delivery: { ...base, node: event.handle.name, reason: event.reason } };
  }
  return { delivery: { ...base, node: event.node.name } };
}
