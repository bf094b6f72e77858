/**
 * capbus over Unix domain sockets (and any stream socket): length-prefixed frames.
 *
 * @module @capbus/transport-unix
 */
export { StreamLink, type StreamLinkOptions } from "./stream-link.js";
export { dialUnix, type Listener, listenUnix, openUnix, type UnixOptions } from "./unix.js";
