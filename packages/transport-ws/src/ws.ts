/**
 * Listening on and dialling WebSocket endpoints (spec/transports.md §1.1). `wss://` works with
 * ws's standard options: pass an https server to `listenWs` and TLS client options to `dialWs`.
 */
import { createServer, type Server as HttpServer, STATUS_CODES } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Peer, SessionOptions } from "@capbus/core";
import {
  checkLinkOptions,
  Dialer,
  type DialOptions,
  PreAuthGuard,
  type PreAuthOptions,
  type PreAuthTicket,
  sessionDefaults,
  wsMessageLimit,
} from "@capbus/transport";
import { DEFAULT_MAX_FRAME_BYTES } from "@capbus/wire";
import { type ClientOptions, WebSocket, WebSocketServer } from "ws";
import { WS_SUBPROTOCOL, WsLink, type WsLinkOptions } from "./ws-link.js";

/**
 * Where and how `listenWs` listens. The pre-authentication limits (PreAuthOptions) apply to each
 * connection from its TCP accept (from its upgrade, on a `server` given), until the remote has
 * introduced itself.
 */
export interface WsListenOptions extends Omit<WsLinkOptions, "preAuth">, PreAuthOptions {
  /** Interface to bind. @default "127.0.0.1" */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** An existing http(s) server to attach to instead (for wss://, pass an https server). */
  server?: HttpServer | HttpsServer;
  /** Options for sessions started over this endpoint. `graceMs` @default 30000 */
  session?: SessionOptions;
}

/** A WebSocket endpoint this peer listens on. */
export interface WsListener {
  /** ws://host:port (the scheme is wss when `server` is an https server). */
  readonly url: string;
  /** The port actually bound (port 0 resolved). */
  readonly port: number;
  /** Stop accepting and close every connection accepted so far. */
  close(): Promise<void>;
}

/** Listen for WebSocket links to `peer` (on `host:port`, or on an existing http(s) `server`). */
export async function listenWs(peer: Peer, options: WsListenOptions = {}): Promise<WsListener> {
  checkLinkOptions(peer, options);
  // A batch message may be longer than one frame may (spec/transports.md §1.1).
  const maxPayload = wsMessageLimit(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const guard = new PreAuthGuard(options, options.runtime);
  const own = options.server ? undefined : await ownServer(guard, options);
  const wss = new WebSocketServer({
    server: options.server ?? own?.server,
    maxPayload,
    verifyClient: (info, done) =>
      offersCapbus(info.req.headers["sec-websocket-protocol"])
        ? done(true)
        : done(false, 400, `offers no ${WS_SUBPROTOCOL} subprotocol`),
    handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  wss.on("error", () => undefined); // the server's own errors: listen failures are reported above
  wss.on("connection", (ws, request) => {
    // On a server of the caller's, the limits start here (its other traffic is its own affair).
    const preAuth = own?.tickets.get(request.socket) ?? guard.admit(request.socket);
    preAuth.watch(); // ws reads the socket from now on: count what the remote sends
    peer.connect(new WsLink(ws, { ...options, preAuth }), undefined, sessionDefaults(options.session));
  });
  const address = (options.server ?? own!.server).address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const scheme = options.server && "setSecureContext" in options.server ? "wss" : "ws";
  const host = options.host ?? "127.0.0.1";
  return {
    url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => {
          if (!own) return resolve();
          for (const socket of own.sockets) socket.destroy();
          own.server.close(() => resolve());
        });
      }),
  };
}

/**
 * Does an upgrade offer capbus (spec/transports.md §1.1)? One offering `capbus.v2` does; one offering
 * no subprotocol is taken as capbus too (a bare WebSocket client); one offering only others is a
 * client of some other service, refused before it becomes a link.
 */
function offersCapbus(header: string | undefined): boolean {
  if (header === undefined) return true;
  return header.split(",").some((p) => p.trim() === WS_SUBPROTOCOL);
}

/**
 * The http server `listenWs` listens on when given none: every TCP connection takes a
 * pre-authentication slot at accept, so raw connections that never send an upgrade are bounded
 * too. A request that is no upgrade gets 426, as from ws's own server.
 */
async function ownServer(
  guard: PreAuthGuard,
  options: WsListenOptions,
): Promise<{ server: HttpServer; sockets: Set<Socket>; tickets: WeakMap<object, PreAuthTicket> }> {
  const sockets = new Set<Socket>();
  const tickets = new WeakMap<object, PreAuthTicket>();
  const server = createServer((_request, response) => {
    const body = STATUS_CODES[426]!;
    response.writeHead(426, { "Content-Length": body.length, "Content-Type": "text/plain" });
    response.end(body);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    tickets.set(socket, guard.admit(socket));
  });
  // A port in use (or a bad host) fails the listen instead of escaping as an unhandled error.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, sockets, tickets };
}

/** Options of a dialled WebSocket link. */
export interface WsDialOptions extends WsLinkOptions {
  /** Passed to ws's client (TLS: `ca`, `cert`, `key`, `rejectUnauthorized`, ...). */
  client?: ClientOptions;
}

/**
 * One connection to `url` as a link (no peer involved): for tests and custom dialling. When
 * `signal` aborts before the connection opens, its socket is destroyed and the promise rejects.
 */
export function openWs(url: string, options: WsDialOptions = {}, signal?: AbortSignal): Promise<WsLink> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const ws = new WebSocket(url, WS_SUBPROTOCOL, {
      maxPayload: wsMessageLimit(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
      ...options.client,
    });
    const failed = (error: Error) => {
      signal?.removeEventListener("abort", abort);
      reject(error);
    };
    const abort = () => {
      ws.off("error", failed);
      ws.on("error", () => undefined); // terminate() before open reports one more error
      ws.terminate();
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
    ws.once("error", failed);
    ws.once("open", () => {
      signal?.removeEventListener("abort", abort);
      ws.off("error", failed);
      resolve(new WsLink(ws, options));
    });
  });
}

/** Dial the peer `remote` at `url` and keep the session connected; `await dialer.ready`. */
export function dialWs(
  peer: Peer,
  url: string,
  remote: string,
  options: WsDialOptions & DialOptions = {},
): Dialer {
  checkLinkOptions(peer, options);
  return new Dialer(peer, remote, (signal) => openWs(url, options, signal), options);
}
