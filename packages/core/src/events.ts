import type { CoreErrorCode } from "./errors.js";
import type { Handle, Node } from "./handles.js";
import type { Timestamp } from "./timestamp.js";

/** A message delivered to one of the peer's nodes, in the global order. */
export interface MessageEvent {
  readonly kind: "message";
  /** Event id `<sender peer>:<seq>`: the same at the sender and at every destination. */
  readonly event: string;
  readonly node: Node;
  readonly payload: unknown;
  /**
   * Handles the message carried, in the order sent, now held by this peer. One whose node was
   * destroyed before this message in the order arrives with state `destroyed`.
   */
  readonly handles: readonly Handle[];
  /** The final timestamp: every peer that delivers two events orders them by it. */
  readonly ts: Timestamp;
  /**
   * Set when the message is a request (`peer.request`): answer it once, to the requester's
   * reply node. The reply is an ordered event like any other.
   */
  readonly reply?: ((payload: unknown) => Promise<SendResult>) | undefined;
}

/** A node was destroyed by its owner: delivered to the owner and to every holder, in the order. */
export interface DestroyedEvent {
  readonly kind: "destroyed";
  readonly event: string;
  /** The holder's handle (for the owner: the node's own handle), now dead. */
  readonly handle: Handle;
  readonly ts: Timestamp;
  /**
   * `destroyed`: the owner destroyed the node, in the order. `unreachable`: the owner could not be
   * reached within the dial timeout. `crash`: the owner's session ended without a clean close
   * (expired, or stuck past the stage timeout). Either of the last two counts as the handle's one
   * destroyed notification, and is not ordered against the owner's other events; it still comes
   * in this peer's queue order, its `ts` above every event delivered before it.
   */
  readonly reason: "destroyed" | "unreachable" | "crash";
}

/** The last reference to the owner's node held by another peer went. */
export interface ReleasedEvent {
  readonly kind: "released";
  readonly event: string;
  readonly node: Node;
  readonly ts: Timestamp;
  /** `released`: a holder let go, in the order. `crash`: the last holder's session ended uncleanly. */
  readonly reason: "released" | "crash";
}

/** What a peer delivers, in the global order: a message, or a destroyed/released notification. */
export type PeerEvent = MessageEvent | DestroyedEvent | ReleasedEvent;

/** How one destination of a send ended. */
export interface DestinationResult {
  /** The destination node's name (`<owner>/<number>`). */
  readonly node: string;
  /** True when the event was committed at the destination's owner. */
  readonly committed: boolean;
  /**
   * Why not, when not committed: the owner's refusal (`E_QUOTA`, `E_NO_HANDLE`, ...), or
   * `E_REFUSED_ELSEWHERE` when another destination refused and the event was aborted everywhere,
   * or `E_LINK_CLOSED`/`E_DESTROYED` when only this destination missed it (spec/guarantees.md §2.1).
   */
  readonly code: CoreErrorCode | undefined;
}

/** What a send resolves with: the event's id, its final timestamp, and each destination's outcome. */
export interface SendResult {
  readonly event: string;
  /**
   * The final timestamp; undefined when the event was delivered nowhere: a destination refused it
   * (then it was aborted at every destination), or none accepted it.
   */
  readonly ts: Timestamp | undefined;
  /** One entry per destination, in the order they were given. */
  readonly destinations: readonly DestinationResult[];
  /** True when every destination committed. */
  readonly ok: boolean;
}
