/**
 * The Node side of the browser chat: a peer listening on ws://127.0.0.1 with the chat room, and an
 * http server on 127.0.0.1 serving the page (index.html) and its bundle (app.js, built with esbuild
 * at start). The page joins by the room's capability URL, given in its query string.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type Bundle, bundleForBrowser } from "@capbus/browser/bundle";
import { startPeer } from "@capbus/node";
import type { TraceSink } from "@capbus/trace";
import { ChatRoom, type RoomLog } from "./room.js";

export interface ChatServerOptions {
  /** HTTP port for the page; 0 picks one. @default 0 */
  readonly httpPort?: number;
  /** The peer's WebSocket endpoint. @default "ws://127.0.0.1:0" */
  readonly listen?: string;
  /** Where the Node peer's trace goes. @default CAPBUS_TRACE, if set */
  readonly trace?: TraceSink;
  readonly log?: RoomLog;
}

export interface ChatServer {
  readonly room: ChatRoom;
  readonly roomUrl: string;
  /** The page, joining the room: `http://127.0.0.1:<port>/?room=<capability URL>`. */
  readonly pageUrl: string;
  readonly peerId: string;
  readonly bundle: Bundle;
  /** Stop the http server, then close the peer gracefully (it waits for its own events). */
  close(): Promise<void>;
  /** Stop now: the http server, and the peer aborted (its links close; members apply the crash rules). */
  abort(): Promise<void>;
}

export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const bundle = await bundleForBrowser(fileURLToPath(new URL("./page/main.ts", import.meta.url)));
  const html = readFileSync(new URL("./index.html", import.meta.url));
  const started = await startPeer({
    listen: [options.listen ?? "ws://127.0.0.1:0"],
    ...(options.trace ? { trace: options.trace } : {}),
  });
  const room = new ChatRoom(started.peer, options.log);
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    } else if (path === "/app.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(bundle.code);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(options.httpPort ?? 0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  const roomUrl = room.url();
  const closeHttp = () => {
    http.closeAllConnections();
    return new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return {
    room,
    roomUrl,
    pageUrl: `http://127.0.0.1:${port}/?room=${encodeURIComponent(roomUrl)}`,
    peerId: started.peer.id,
    bundle,
    close: async () => {
      await closeHttp();
      await started.close();
    },
    abort: async () => {
      await closeHttp();
      started.peer.abort();
      await started.close();
    },
  };
}
