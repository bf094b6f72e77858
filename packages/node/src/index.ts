/** capbus for Node: everything of @capbus/core, with a Peer that honours CAPBUS_TRACE. */
export * from "@capbus/core";
export { Peer } from "./peer.js";
