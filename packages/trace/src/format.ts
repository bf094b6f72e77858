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

export const TraceStart = z.object({ peer, op: z.literal("start") });
export const TraceClose = z.object({ peer, op: z.literal("close") });
export const TraceSend = z.object({
  peer,
  op: z.literal("send"),
  event,
  /** Destination peers, one per entry of `nodes`, in the same order. */
  to: z.array(peer),
  nodes: z.array(node),
  /** Nodes of the handles the message carries. */
  handles: z.array(node),
});
export const TraceDestroy = z.object({ peer, op: z.literal("destroy"), event, nodes: z.array(node) });
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
export const TraceAbort = z.object({ peer, op: z.literal("abort"), event });
export const TraceImport = z.object({ peer, op: z.literal("import"), node });
/**
 * The link session to `other` expired here: from this step on, this peer treats `other` as crashed
 * (ordering.md trap 4). Without it a checker cannot tell a partly delivered round from a lost one.
 */
export const TraceExpire = z.object({ peer, op: z.literal("expire"), other: peer });
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

export const TraceRecord = z.discriminatedUnion("op", [
  TraceStart,
  TraceClose,
  TraceSend,
  TraceDestroy,
  TraceRelease,
  TraceAbort,
  TraceImport,
  TraceExpire,
  TraceDeliver,
]);
export type TraceRecord = z.infer<typeof TraceRecord>;
export type TraceDeliverRecord = z.infer<typeof TraceDeliver>;
export type TraceSendRecord = z.infer<typeof TraceSend>;

/** Where a peer writes its trace records. Off (no sink) costs nothing. */
export interface TraceSink {
  write(record: TraceRecord): void;
}
