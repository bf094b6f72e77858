/**
 * capbus in a web page: everything of @capbus/core, a Link over the native WebSocket, a dialler,
 * `startBrowserPeer`, and the in-memory trace sink (a page cannot write files). No Node APIs.
 *
 * @module @capbus/browser
 */
export * from "@capbus/core";
export { MemoryTraceSink, type TraceRecord, type TraceSink, teeTraceSink } from "@capbus/trace";
export { Dialer, type DialOptions, TransportErrorCode } from "@capbus/transport";
export {
  type BrowserDialOptions,
  type BrowserStartOptions,
  connect,
  type StartedBrowserPeer,
  startBrowserPeer,
  supportsEd25519,
} from "./start.js";
export { BrowserWsLink, type BrowserWsLinkOptions, openBrowserWs } from "./ws-link.js";
