/**
 * Codes a transport link closes with when the session did not (spec/transports.md §7). Programs
 * compare `LinkClosedInfo.code`, never the reason text.
 */
export const TransportErrorCode = {
  /** The connection ended or failed without a capbus close (EOF, reset, socket error). */
  E_LINK_BROKEN: "E_LINK_BROKEN",
  /** Nothing arrived within `deadAfterMs`: the remote or the path stopped (heartbeats missing). */
  E_LINK_DEAD: "E_LINK_DEAD",
  /** A frame longer than `maxFrameBytes` was announced or received; it is not read. */
  E_TOO_LARGE: "E_TOO_LARGE",
  /** A WebSocket text message: frames are binary only. */
  E_CBOR: "E_CBOR",
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];
