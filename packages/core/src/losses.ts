/**
 * Notifications a peer makes up for a peer it lost (spec/guarantees.md §4.2, bootstrap.md §3 D5):
 * each live handle to the lost peer's nodes gets its one `destroyed` event, and after a crash the
 * references the lost peer held to this peer's nodes go, with `released` where that was the last.
 * They are this peer's conclusion, not points of the global order.
 */
import type { TraceRecord } from "@capbus/trace";
import type { PeerEvent } from "./events.js";
import type { Handle } from "./handles.js";
import type { OwnedNode } from "./owner.js";
import type { LamportClock } from "./timestamp.js";

export interface LossContext {
  readonly id: string;
  readonly clock: LamportClock;
  readonly handles: Iterable<Handle>;
  readonly nodes: Iterable<OwnedNode>;
  trace(record: TraceRecord): void;
  deliver(event: PeerEvent): void;
}

export function synthesizeLoss(
  ctx: LossContext,
  remote: string,
  reason: "unreachable" | "crash",
  code?: string,
): void {
  // W11 of spec/trace.md: a fresh event id, and the lost peer in the timestamp.
  const synthesize = (kind: "destroyed" | "released", name: string) => {
    const ts = { lamport: ctx.clock.tick(), peer: remote, seq: 0 };
    const event = `${reason}:${remote}:${name}`;
    ctx.trace({
      peer: ctx.id,
      op: "deliver",
      event,
      kind,
      node: name,
      ts: [ts.lamport, ts.peer, ts.seq],
      handles: [],
      dead: [],
    });
    return { event, ts };
  };
  if (reason === "crash") ctx.trace({ peer: ctx.id, op: "expire", other: remote, ...(code ? { code } : {}) });
  for (const handle of ctx.handles) {
    if (handle.owner !== remote || handle.state !== "live") continue;
    handle.markDestroyed();
    ctx.deliver({ kind: "destroyed", ...synthesize("destroyed", handle.name), handle, reason });
  }
  if (reason !== "crash") return;
  for (const owned of ctx.nodes) {
    const held = owned.references.get(remote);
    if (held === undefined || owned.state === "destroyed") continue;
    if (owned.release(remote, held)) {
      ctx.deliver({ kind: "released", ...synthesize("released", owned.node.name), node: owned.node, reason });
    }
  }
}
