/**
 * The capbus peer engine: nodes, handles, the ordering round and the queue (spec/ordering.md).
 *
 * @module @capbus/core
 */
export { type CapabilityUrl, formatCapabilityUrl, parseCapabilityUrl } from "./bootstrap.js";
export { CapbusError, CoreErrorCode } from "./errors.js";
export type {
  DestinationResult,
  DestroyedEvent,
  MessageEvent,
  PeerEvent,
  ReleasedEvent,
  SendResult,
} from "./events.js";
export { type FinalProof, finalStatement } from "./finals.js";
export { Handle, type HandleGrant, Node, nodeName } from "./handles.js";
export { PRE_AUTH_FRAME_BYTES, transcript } from "./handshake.js";
export { Identity, peerIdFromKey, type SubtleKey, type SyncSigner, verifySignature } from "./identity.js";
export type { Link, LinkClosedInfo, LinkHandler } from "./link.js";
export type { LatencyStats, LinkStats, LogFields, LogFn, Logger, PeerStats, TableStats } from "./observe.js";
export { Peer, type PeerOptions, PROTOCOL_VERSION, randomPeerId, type SendOptions } from "./peer.js";
export type { QuotaLimits } from "./quota.js";
export { type Runtime, systemRuntime } from "./runtime.js";
export { HELD_FRAME_COST, type SessionOptions } from "./session.js";
export { SessionErrorCode } from "./session-errors.js";
export {
  checkLiveness,
  checkTimeouts,
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_HEARTBEAT_MS,
  type LinkTimeouts,
  resolveTimeouts,
  type TimeoutOptions,
  type Timeouts,
} from "./timeouts.js";
export {
  type ClockBounds,
  compareTimestamps,
  DEFAULT_CLOCK_ADOPT_MS,
  DEFAULT_CLOCK_REFUSE_MS,
  TICKS_PER_MS,
  type Timestamp,
} from "./timestamp.js";
