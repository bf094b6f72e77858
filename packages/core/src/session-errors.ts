/**
 * Codes a session or its handshake closes a link with (spec/transports.md §7). They travel in
 * `close` frames and in `LinkClosedInfo.code`; programs compare the code, never the reason text.
 */
export const SessionErrorCode = {
  /** The handshake failed: a key that does not match the peer id, a bad signature, or a keyed peer met an unkeyed one. */
  E_AUTH: "E_AUTH",
  /** The handshake did not finish within `handshakeTimeoutMs`. */
  E_HANDSHAKE_TIMEOUT: "E_HANDSHAKE_TIMEOUT",
  /** A resume named a session that has expired (or never existed) at the other end; the session is gone at both ends. */
  E_SESSION_EXPIRED: "E_SESSION_EXPIRED",
  /** A newer link resumed the session; the older link is closed. */
  E_REPLACED: "E_REPLACED",
  /**
   * Two peers dialled each other at once; this link lost the tie-break (spec/transports.md §3.4).
   * The session is unaffected: it goes on over the other peer's link.
   */
  E_CROSSED: "E_CROSSED",
  /**
   * No room for another link: the peer holds `maxLinks` sessions and none is detached (a new
   * session), or a listener holds its most connections that have not introduced themselves yet
   * (spec/transports.md §3.5). Try again later.
   */
  E_LINK_QUOTA: "E_LINK_QUOTA",
  /**
   * This end failed in a way nobody foresaw (a bug, or a trace sink that cannot write) while
   * deciding a handshake: the link is refused rather than left open and silent.
   */
  E_INTERNAL: "E_INTERNAL",
} as const;
export type SessionErrorCode = (typeof SessionErrorCode)[keyof typeof SessionErrorCode];
