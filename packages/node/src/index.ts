/**
 * capbus for Node: everything of @capbus/core, a Peer that honours CAPBUS_TRACE, and startPeer.
 *
 * @module @capbus/node
 */
export * from "@capbus/core";
export { Peer } from "./peer.js";
export { type StartedPeer, type StartOptions, startPeer } from "./start.js";
