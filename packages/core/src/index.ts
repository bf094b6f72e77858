export { CapbusError, CoreErrorCode } from "./errors.js";
export type { DestinationResult, MessageEvent, PeerEvent, SendResult } from "./events.js";
export { Handle, type HandleGrant, Node, nodeName } from "./handles.js";
export type { Link, LinkClosedInfo, LinkHandler } from "./link.js";
export { PROTOCOL_VERSION, Peer, type PeerOptions, type SendOptions } from "./peer.js";
export { systemRuntime, type Runtime } from "./runtime.js";
export { compareTimestamps, MAX_CLOCK_JUMP, type Timestamp } from "./timestamp.js";
