/**
 * Listening on and dialling Unix domain sockets (spec/transports.md §1.2): every accepted
 * connection is handed to `peer.connect`, whose handshake names the remote; a dial keeps its
 * session connected across breaks.
 */
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
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
  await listenAt(server, path);
  return {
    address: path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Listen on `path`. A socket file left by a process that died (nothing accepts on it) is removed
 * and the listen tried again; a live one fails with EADDRINUSE, a missing folder with ENOENT
 * (Node's own error says EACCES).
 */
async function listenAt(server: Server, path: string): Promise<void> {
  const folder = dirname(path);
  if (!existsSync(folder)) {
    throw Object.assign(new Error(`no such folder ${folder} for the socket ${path}`), { code: "ENOENT" });
  }
  try {
    await listenOnce(server, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || !(await stale(path))) throw error;
    unlinkSync(path);
    await listenOnce(server, path);
  }
}

function listenOnce(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Is `path` a socket file nobody listens on (connecting is refused)? Never true for other files. */
async function stale(path: string): Promise<boolean> {
  if (!lstatSync(path, { throwIfNoEntry: false })?.isSocket()) return false;
  return new Promise<boolean>((resolve) => {
    const probe = createConnection({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(false);
    });
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

/**
 * One connection to `path` as a link (no peer involved): for tests and custom dialling. When
 * `signal` aborts before the connection is made, its socket is destroyed and the promise rejects.
 */
export function openUnix(
  path: string,
  options: StreamLinkOptions = {},
  signal?: AbortSignal,
): Promise<StreamLink> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const socket = createConnection({ path });
    const abort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    const failed = (error: Error) => {
      signal?.removeEventListener("abort", abort);
      reject(error);
    };
    signal?.addEventListener("abort", abort, { once: true });
    socket.once("error", failed);
    socket.once("connect", () => {
      signal?.removeEventListener("abort", abort);
      socket.off("error", failed);
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
  return new Dialer(peer, remote, (signal) => openUnix(path, options, signal), options);
}
