/**
 * Notifications a peer makes up for a peer it lost (spec/guarantees.md §4.2, spec/bootstrap.md §3 D5):
 * each live handle to the lost peer's nodes gets its one `destroyed` event, and after a crash the
 * references the lost peer held to this peer's nodes go, with `released` where that was the last.
 * They are this peer's conclusion, not points of the global order; but they take a place in this
 * peer's queue (spec/ordering.md §7.1), so its deliveries stay in rising timestamp order.
 */
import type { TraceRecord } from "@capbus/trace";
import type { PeerEvent } from "./events.js";
import type { Handle } from "./handles.js";
import type { OwnedNode } from "./owner.js";
import type { Timestamp } from "./timestamp.js";

/** One notification owed for a lost peer; whether it still applies is decided at its delivery. */
export type LossNotice =
  | { readonly kind: "destroyed"; readonly handle: Handle; readonly reason: "crash" | "unreachable" }
  | { readonly kind: "released"; readonly node: OwnedNode };

/**
 * What the loss of `remote` owes: a `destroyed` per live handle to its nodes and, after a crash,
 * a `released` per node of this peer whose last outside references went with `remote` (they are
 * dropped now: the lost peer holds nothing from here on).
 */
export function lossNotices(
  remote: string,
  reason: "unreachable" | "crash",
  handles: Iterable<Handle>,
  nodes: Iterable<OwnedNode>,
): LossNotice[] {
  const notices: LossNotice[] = [];
  for (const handle of handles) {
    if (handle.owner === remote && handle.state === "live")
      notices.push({ kind: "destroyed", handle, reason });
  }
  if (reason !== "crash") return notices;
  for (const node of nodes) {
    const held = node.references.get(remote);
    if (held === undefined || node.state === "destroyed") continue;
    if (node.release(remote, held)) notices.push({ kind: "released", node });
  }
  return notices;
}

/**
 * The event a notice delivers at `ts` (its lost peer in `ts.peer`), or undefined when it no
 * longer applies: the handle was destroyed or released meanwhile (an ordered destroy delivered
 * first is its one notification), or the node was destroyed or has a holder again.
 */
export function noticeEvent(
  notice: LossNotice,
  ts: Timestamp,
  survivor: string,
  trace: (record: TraceRecord) => void,
): PeerEvent | undefined {
  let name: string;
  if (notice.kind === "destroyed") {
    if (notice.handle.state !== "live") return undefined;
    notice.handle.markDestroyed(false);
    name = notice.handle.name;
  } else {
    const { node } = notice;
    if (node.state === "destroyed" || node.references.size > 0) return undefined;
    name = node.node.name;
  }
  const reason = notice.kind === "destroyed" ? notice.reason : "crash";
  // W11 of spec/trace.md: an id no record creates, unique at this survivor (its clock only grows).
  const event = `${reason}:${ts.peer}:${name}:${survivor}:${ts.lamport}`;
  trace({
    peer: survivor,
    op: "deliver",
    event,
    kind: notice.kind,
    node: name,
    ts: [ts.lamport, ts.peer, ts.seq],
    handles: [],
    dead: [],
  });
  return notice.kind === "destroyed"
    ? { kind: "destroyed", event, handle: notice.handle, ts, reason: notice.reason }
    : { kind: "released", event, node: notice.node.node, ts, reason: "crash" };
}
