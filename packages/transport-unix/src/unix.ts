/**
 * Listening on and dialling Unix domain sockets (spec/transports.md §1.2): every accepted
 * connection is handed to `peer.connect`, whose handshake names the remote; a dial keeps its
 * session connected across breaks.
 */
import { createConnection, createServer, type Socket } from "node:net";
import type { Peer, SessionOptions } from "@capbus/core";
import {
  checkLinkOptions,
  Dialer,
  type DialOptions,
  PreAuthGuard,
  type PreAuthOptions,
  sessionDefaults,
} from "@capbus/transport";
import { StreamLink, type StreamLinkOptions } from "./stream-link.js";

/**
 * Options of Unix-socket links (listened or dialled), and of the sessions they start. The
 * pre-authentication limits (PreAuthOptions) apply to connections a listener accepts.
 */
export interface UnixOptions extends Omit<StreamLinkOptions, "preAuth">, PreAuthOptions {
  /** Options for sessions started over this endpoint. `graceMs` @default 30000 */
  session?: SessionOptions;
}

/** A Unix socket this peer listens on. */
export interface Listener {
  /** The socket path. */
  readonly address: string;
  /** Stop accepting and close every connection accepted so far. */
  close(): Promise<void>;
}

/** Listen on the Unix socket `path`: every connection becomes a link of `peer` (after the handshake). */
export async function listenUnix(peer: Peer, path: string, options: UnixOptions = {}): Promise<Listener> {
  checkLinkOptions(peer, options);
  const sockets = new Set<Socket>();
  const guard = new PreAuthGuard(options, options.runtime);
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const preAuth = guard.admit(socket);
    preAuth.watch();
    peer.connect(
      new StreamLink(socket, { ...options, preAuth }),
      undefined,
      sessionDefaults(options.session),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    address: path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One connection to `path` as a link (no peer involved): for tests and custom dialling. */
export function openUnix(path: string, options: StreamLinkOptions = {}): Promise<StreamLink> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(new StreamLink(socket, options));
    });
  });
}

/** Dial the peer `remote` at `path` and keep the session connected; `await dialer.ready`. */
export function dialUnix(
  peer: Peer,
  path: string,
  remote: string,
  options: UnixOptions & DialOptions = {},
): Dialer {
  checkLinkOptions(peer, options);
  return new Dialer(peer, remote, () => openUnix(path, options), options);
}
