/**
 * Pieces every socket transport shares: liveness, redialling, error codes (spec/transports.md).
 *
 * @module @capbus/transport
 */
export {
  checkLinkOptions,
  DEFAULT_GRACE_MS,
  Dialer,
  type DialOptions,
  logDialFailure,
  sessionDefaults,
  type TransportLink,
} from "./dialer.js";
export { TransportErrorCode } from "./errors.js";
export { closeFrame, LinkBase } from "./link-base.js";
export { Liveness, type LivenessOptions } from "./liveness.js";
export {
  DEFAULT_MAX_PENDING_LINKS,
  DEFAULT_PRE_AUTH_BYTES,
  DEFAULT_PRE_AUTH_TIMEOUT_MS,
  type GuardedSocket,
  PreAuthGuard,
  type PreAuthOptions,
  PreAuthTicket,
} from "./preauth.js";
export {
  joinWsBatch,
  splitWsMessage,
  WS_BATCH_BYTES,
  WS_BATCH_FRAME_MAX,
  WS_BATCH_MARK,
  WS_EAGER_BYTES,
  WsBatcher,
  type WsSplit,
  wsMessageLimit,
} from "./ws-batch.js";
