export { CapbusError, CoreErrorCode } from "./errors.js";
export type { DestinationResult, MessageEvent, PeerEvent, SendResult } from "./events.js";
export { Handle, type HandleGrant, Node, nodeName } from "./handles.js";
export type { Link, LinkClosedInfo, LinkHandler } from "./link.js";
export { Peer, type PeerOptions, PROTOCOL_VERSION, randomPeerId, type SendOptions } from "./peer.js";
export { type Runtime, systemRuntime } from "./runtime.js";
export { compareTimestamps, MAX_CLOCK_JUMP, type Timestamp } from "./timestamp.js";
