/**
 * The only way a peer talks to another peer. A transport (simulated, WebSocket, Unix socket)
 * implements it; the core never touches sockets. Frames are whole encoded frames (one CBOR item).
 */
export interface Link {
  /** Queue one encoded frame for the remote end. Frames arrive in the order they were sent. */
  send(frame: Uint8Array): void;
  /**
   * Close the link. `code` is a stable error code (or `"OK"` for a clean close) and `reason`
   * a human-readable sentence; both reach the local handler's `closed` and, where the transport
   * can carry them, the remote end.
   */
  close(code: string, reason: string): void;
  /**
   * Optional. Write now what the link holds to send in one batch (a ws message, a corked write)
   * instead of at its own flush. The peer calls it at the end of a turn after writing the answers
   * it held over the turn (spec/ordering.md §14, B7), so they go in that turn and not in the
   * next one the link's own flush may fall in. @default undefined: the link flushes by itself
   */
  flush?(): void;
  /** Start delivering to `handler`. Called once; frames received earlier are held until then. */
  attach(handler: LinkHandler): void;
  /**
   * Optional. The remote has introduced itself: its hello, and its `auth` when it is keyed, are in
   * (the signature is being checked). The handshake calls it once; a transport then lifts what it
   * applies before (its pre-authentication byte budget, deadline and slot; spec/transports.md §3.5),
   * since what follows may be the remote's session frames, of any size.
   */
  introduced?(): void;
  /**
   * Optional. This link reads messages that batch several frames (spec/transports.md §1.1); the
   * handshake says so in its hello. @default undefined: one frame per message
   */
  readonly batchMessages?: boolean;
  /**
   * Optional. Both hellos are known: the link may send batch messages when both ends read them
   * (`batchMessages`); before this call, and without it, it sends one frame per message.
   */
  negotiated?(terms: { readonly batchMessages: boolean }): void;
}

/** What a Link delivers to: its frames, then its end. */
export interface LinkHandler {
  /** One frame from the remote end, in order. */
  frame(bytes: Uint8Array): void;
  /** The link is gone (closed by either end, or broken). Called once; no frame follows it. */
  closed(info: LinkClosedInfo): void;
}

/** Why a link ended. */
export interface LinkClosedInfo {
  /** A stable error code, or "OK" for a clean close. */
  readonly code: string;
  /** A human-readable sentence. */
  readonly reason: string;
  /** True when the remote end (or the transport) closed it, false when this end called `close`. */
  readonly byRemote: boolean;
  /**
   * True when the transport ended the link with a capbus close (it refused what the remote sent,
   * or the remote refused what this end sent): the session is over, not detached, since a
   * resume would resend the same frame (spec/errors.md §5).
   */
  readonly final?: boolean;
}
