/**
 * The Cap'n Web baseline for (3): the capability RPC a TypeScript user would pick instead of
 * capbus. Its public API only: an `RpcTarget` served over a `ws` WebSocketServer in the receiver
 * child (as its README does for Node), and `newWebSocketRpcSession` on a `ws` client in the runner.
 */
import { newWebSocketRpcSession, type RpcStub, RpcTarget } from "capnweb";
import { WebSocket, WebSocketServer } from "ws";

/** capnweb's types name the DOM WebSocket; `ws` implements the part it uses (its README says so). */
type DomWebSocket = Parameters<typeof newWebSocketRpcSession>[0];

// capnweb reads the global WebSocket's constants (`WebSocket.CONNECTING`), which Node has only
// from version 22: on older Node, the `ws` class (same constants) stands in for it.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** The echo service: answers a call with its argument, like capbus's echo replies with the payload. */
class Echo extends RpcTarget {
  echo(bytes: Uint8Array): Uint8Array {
    return bytes;
  }
}

interface EchoApi {
  echo(bytes: Uint8Array): Uint8Array;
}

/** Child: a Cap'n Web echo server on a loopback ws port; returns its URL. */
export async function capnwebReceiver(): Promise<string> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  wss.on("connection", (ws) => {
    newWebSocketRpcSession(ws as unknown as DomWebSocket, new Echo());
  });
  const address = wss.address();
  return `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}

/** Runner: a Cap'n Web session to the echo server, once its socket is open. */
export async function capnwebClient(url: string): Promise<{
  readonly echo: (bytes: Uint8Array) => Promise<Uint8Array>;
  readonly close: () => void;
}> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => resolve());
  });
  const stub: RpcStub<EchoApi> = newWebSocketRpcSession<EchoApi>(ws as unknown as DomWebSocket);
  return {
    echo: async (bytes) => await stub.echo(bytes),
    close: () => {
      stub[Symbol.dispose]();
      ws.terminate();
    },
  };
}
