/**
 * The trace format (spec/trace.md): JSON Lines, one record per local step of one peer, in that
 * peer's order. Other tools read these files, so the shapes below are a stable, documented format.
 */
import { z } from "zod";

/** `[lamport, sender peer id, sender seq]`: compared in that order. */
export const TraceTimestamp = z.tuple([
  z.number().int().nonnegative(),
  z.string(),
  z.number().int().nonnegative(),
]);
export type TraceTimestamp = z.infer<typeof TraceTimestamp>;

const peer = z.string().min(1);
const event = z.string().min(1);
const node = z.string().min(1);

/** `start`: the first record of every trace. */
export const TraceStart = z.object({
  peer,
  op: z.literal("start"),
  /** A human name for the peer (`PeerOptions.name`), for diagrams and reports; not an identity. */
  name: z.string().min(1).optional(),
});
/** `close`: the peer closed cleanly; the last record, absent if the process crashed or was killed. */
export const TraceClose = z.object({ peer, op: z.literal("close") });
/** `send`: the peer created message `event` for `nodes`; `to[i]` owns `nodes[i]`. */
export const TraceSend = z.object({
  peer,
  op: z.literal("send"),
  event,
  /** Destination peers, one per entry of `nodes`, in the same order. */
  to: z.array(peer),
  nodes: z.array(node),
  /** Nodes of the handles the message carries. */
  handles: z.array(node),
  /** A short, truncated rendering of the payload (`PeerOptions.traceSummary`), for people only. */
  summary: z.string().optional(),
});
/** `destroy`: the owner destroyed `nodes` in one event; owner and holders get a `destroyed` notification. */
export const TraceDestroy = z.object({ peer, op: z.literal("destroy"), event, nodes: z.array(node) });
/**
 * `release`: the peer dropped its handle to `node` (or, with `holder`, references counted for a transfer
 * that never reached `holder`).
 */
export const TraceRelease = z.object({
  peer,
  op: z.literal("release"),
  event,
  node,
  /**
   * Present when the references dropped are not the peer's own handle: those an owner counted
   * for a receiver the transfer never reached (the peer id of that receiver, possibly the peer).
   */
  holder: z.string().min(1).optional(),
});
/** `abort`: the peer dropped the round of its own `event`; no destination may deliver it. */
export const TraceAbort = z.object({ peer, op: z.literal("abort"), event });
/** `import`: the peer got a handle to `node` outside any message (a capability URL, say). */
export const TraceImport = z.object({ peer, op: z.literal("import"), node });
/**
 * The link session to `other` expired here: from this step on, this peer treats `other` as crashed
 * (ordering.md trap 4). Without it a checker cannot tell a partly delivered round from a lost one.
 */
export const TraceExpire = z.object({
  peer,
  op: z.literal("expire"),
  other: peer,
  /** Why the session ended (the close or break code), when known. */
  code: z.string().optional(),
});
/**
 * `link`: a new session with `other` started here (not a resume): after an `expire`, the two are
 * in touch again, and `other`'s nodes may come back live.
 */
export const TraceLink = z.object({ peer, op: z.literal("link"), other: peer });
/**
 * `reconcile`: the peer's session with `from`, the sender of multicast `event`, ended while it held
 * the event staged, and the other receivers decided its fate (spec/ordering.md §16): `committed`
 * (a receiver showed the sender's signed final; the event is delivered in order), `dropped` (every
 * other receiver answered that none committed it, or the final was below this peer's proposal),
 * or `fallback` (dropped with a receiver given up, the sender itself among the receivers,
 * or none to ask: the remaining window of spec/guarantees.md §5 W1).
 */
export const TraceReconcile = z.object({
  peer,
  op: z.literal("reconcile"),
  event,
  from: peer,
  outcome: z.enum(["committed", "dropped", "fallback"]),
});
/** `deliver`: the peer's queue handed `(event, node)` to its application with final timestamp `ts`. */
export const TraceDeliver = z.object({
  peer,
  op: z.literal("deliver"),
  event,
  /** What was delivered: a message, or a destroyed/released notification. */
  kind: z.enum(["message", "destroyed", "released"]),
  node,
  ts: TraceTimestamp,
  /** Live handles the delivery carried. */
  handles: z.array(node),
  /** Handles it carried that were already destroyed when it arrived. */
  dead: z.array(node),
});

/** Any trace record, by `op` (spec/trace.md): the schema the checker parses each line with. */
export const TraceRecord = z.discriminatedUnion("op", [
  TraceStart,
  TraceClose,
  TraceSend,
  TraceDestroy,
  TraceRelease,
  TraceAbort,
  TraceImport,
  TraceExpire,
  TraceLink,
  TraceReconcile,
  TraceDeliver,
]);
/** Any trace record. */
export type TraceRecord = z.infer<typeof TraceRecord>;
/** A `deliver` record. */
export type TraceDeliverRecord = z.infer<typeof TraceDeliver>;
/** A `send` record. */
export type TraceSendRecord = z.infer<typeof TraceSend>;

/** Where a peer writes its trace records. Off (no sink) costs nothing. */
export interface TraceSink {
  /** Write one record; records of one peer come in that peer's order. */
  write(record: TraceRecord): void;
}
