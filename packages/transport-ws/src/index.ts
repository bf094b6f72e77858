/**
 * capbus over WebSockets: one binary message per frame.
 *
 * @module @capbus/transport-ws
 */
export { dialWs, listenWs, openWs, type WsDialOptions, type WsListener, type WsListenOptions } from "./ws.js";
export { WS_SUBPROTOCOL, WsLink, type WsLinkOptions } from "./ws-link.js";
