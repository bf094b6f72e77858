/** What the demo's three daemons send each other, and how each reports a delivery to main.ts. */
import type { PeerEvent } from "@capbus/node";

/** Link manager A to policy daemon B and DHCP client C, in one multicast. */
export type Announcement = { readonly kind: "link-added"; readonly link: string };
/** Policy daemon B to DHCP client C, as a request, caused by delivering an announcement. */
export type DhcpRequest = { readonly kind: "start-dhcp"; readonly link: string };
/** C's reply: whether it knew the link when asked (it always should). */
export type DhcpReply = { readonly started: boolean; readonly link: string };

/** One delivery as a process reports it: enough for a reader to see the order and the cause. */
export interface Delivery {
  readonly kind: PeerEvent["kind"];
  readonly payload?: unknown;
  /** The sending peer (the event id is `<sender peer>:<seq>`). */
  readonly from: string;
  /** The final timestamp (lamport, peer, seq) every peer orders by. */
  readonly ts: readonly [number, string, number];
  /** Wall clock (ms since the epoch) when the process delivered it. */
  readonly at: number;
}

export function delivery(event: PeerEvent): Delivery {
  const { lamport, peer, seq } = event.ts;
  return {
    kind: event.kind,
    ...(event.kind === "message" ? { payload: event.payload } : {}),
    from: event.event.slice(0, event.event.lastIndexOf(":")),
    ts: [lamport, peer, seq],
    at: Date.now(),
  };
}
