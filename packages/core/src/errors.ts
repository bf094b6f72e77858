/**
 * Errors the core raises to callers or sends to a remote end. Codes are stable and listed in
 * spec/errors.md; tests and programs compare `code`, never the message text.
 */
export const CoreErrorCode = {
  /** The peer is closed (or closing): no new sends. */
  E_CLOSED: "E_CLOSED",
  /** The send was aborted by its signal, or the peer was aborted, before it was decided. */
  E_ABORTED: "E_ABORTED",
  /** The sender holds no handle to the node (owner-side check), or the handle is not usable. */
  E_NO_HANDLE: "E_NO_HANDLE",
  /** The destination node does not exist at its owner. */
  E_NO_NODE: "E_NO_NODE",
  /** No link to the owner of a destination node. */
  E_NO_LINK: "E_NO_LINK",
  /**
   * The send queue to a destination's peer already holds `maxBufferedBytes` waiting for the
   * window: the new message is refused before the wire (nothing of it sent). Retry after
   * `peer.drained(handle)`.
   */
  E_BACKPRESSURE: "E_BACKPRESSURE",
  /** The destination's queue has no room for this sender (its share of the quota is used up). */
  E_QUOTA: "E_QUOTA",
  /**
   * A sender kept an event staged here longer than the stage timeout, or its staged events
   * stalled the queue for as long in all: its session ends.
   */
  E_STAGE_TIMEOUT: "E_STAGE_TIMEOUT",
  /**
   * A participant left a frame of this peer's event unanswered longer than the answer timeout:
   * its session ends, and the event decides without it.
   */
  E_ANSWER_TIMEOUT: "E_ANSWER_TIMEOUT",
  /** The owner of a node could not be reached within the dial timeout. */
  E_UNREACHABLE: "E_UNREACHABLE",
  /**
   * A dial reached a peer other than the one it dialled (another id, or a key that does not
   * prove the id): the peer at that address is someone else. The dial ends; it is not retried.
   */
  E_WRONG_PEER: "E_WRONG_PEER",
  /** Options that break a rule between timeouts (spec/limits.md §3.1): the set is refused. */
  E_OPTIONS: "E_OPTIONS",
  /** A capability URL that names no export (wrong secret, revoked, or malformed). */
  E_NO_EXPORT: "E_NO_EXPORT",
  /**
   * In a send's result: this destination was not delivered because another destination (or another
   * node of the same owner) refused the event, and the sender aborted it everywhere.
   */
  E_REFUSED_ELSEWHERE: "E_REFUSED_ELSEWHERE",
  /** The link to a destination closed before the round was decided there. */
  E_LINK_CLOSED: "E_LINK_CLOSED",
  /** The node is destroyed (or being destroyed past the point of no return). */
  E_DESTROYED: "E_DESTROYED",
  /** The handle was released by its holder. */
  E_RELEASED: "E_RELEASED",
  /** A multicast names the same destination node twice. */
  E_DUPLICATE: "E_DUPLICATE",
  /**
   * A timestamp more than the refuse offset (35 s by default) ahead of the local wall clock, or a
   * hello whose wall clock is that far off: the link is closed (spec/ordering.md §2 H2).
   */
  E_CLOCK_SKEW: "E_CLOCK_SKEW",
  /** A link sequence number out of order. */
  E_SEQUENCE: "E_SEQUENCE",
  /**
   * A reconciliation answer `committed` refused (spec/errors.md §3.2): its signature does not verify
   * under the sender's key, it is for another event, or its peer is not a listed receiver. Logged;
   * nothing of the queue or clock changes, and the link stays up.
   */
  E_BAD_FINAL: "E_BAD_FINAL",
  /** A frame that is well formed but not valid in the link's state (e.g. commit for an unknown event). */
  E_PROTOCOL: "E_PROTOCOL",
} as const;
export type CoreErrorCode = (typeof CoreErrorCode)[keyof typeof CoreErrorCode];

/**
 * The error a peer's calls throw or reject with. Test `code` (a CoreErrorCode, listed in spec/errors.md),
 * never the message.
 */
export class CapbusError extends Error {
  static override readonly name = "CapbusError";
  override readonly name = "CapbusError";
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
