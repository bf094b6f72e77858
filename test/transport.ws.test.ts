/** The transport conformance suite over WebSockets, plus checks of their own. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type LinkClosedInfo, Peer, systemRuntime } from "@capbus/core";
import { listenWs, openWs, WS_SUBPROTOCOL, WsLink } from "@capbus/transport-ws";
import { WebSocket, WebSocketServer } from "ws";
import { type Harness, type LinkPair, transportConformance } from "./transport-conformance.js";
import { until } from "./transport-real.js";

async function server(maxPayload = 16 * 1024 * 1024) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const address = wss.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const waiting: Array<(ws: WebSocket) => void> = [];
  wss.on("connection", (ws) => waiting.shift()?.(ws));
  return {
    async connect(): Promise<[WebSocket, WebSocket]> {
      const accepted = new Promise<WebSocket>((resolve) => waiting.push(resolve));
      const client = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload });
      await new Promise<void>((resolve) => client.once("open", () => resolve()));
      return [client, await accepted];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

transportConformance("ws", async (): Promise<Harness> => {
  const s = await server();
  return {
    runtime: systemRuntime,
    async pair(): Promise<LinkPair> {
      return pairOf(await s.connect());
    },
    async limitedPair(maxFrameBytes: number): Promise<LinkPair> {
      return pairOf(await s.connect(), maxFrameBytes);
    },
    until,
    close: () => s.close(),
  };
});

function pairOf([client, accepted]: [WebSocket, WebSocket], maxFrameBytes?: number): LinkPair {
  return {
    a: new WsLink(client),
    b: new WsLink(accepted, maxFrameBytes === undefined ? {} : { maxFrameBytes }),
    cut: () => {
      client.terminate();
      accepted.terminate();
    },
    stall: () => accepted.pause(),
    unstall: () => accepted.resume(),
  };
}

test("ws: a text message closes the link with E_CBOR; an oversize one with E_TOO_LARGE", async () => {
  const s = await server(1024);
  try {
    for (const [send, code] of [
      [(ws: WebSocket) => ws.send("not binary"), "E_CBOR"],
      [(ws: WebSocket) => ws.send(new Uint8Array(2048)), "E_TOO_LARGE"],
    ] as const) {
      const [client, accepted] = await s.connect();
      const link = new WsLink(accepted);
      const closes: LinkClosedInfo[] = [];
      link.attach({ frame: () => assert.fail("no frame"), closed: (info) => closes.push(info) });
      send(client);
      await until(() => closes.length === 1, "the close");
      assert.equal(closes[0]?.code, code);
      assert.equal(closes[0]?.final, true, "a close: the session ends, no resume resends it");
      client.terminate();
    }
  } finally {
    await s.close();
  }
});

test("listenWs on a port in use rejects with EADDRINUSE instead of throwing out of band", async () => {
  const first = await listenWs(new Peer({ id: "first" }));
  try {
    await assert.rejects(listenWs(new Peer({ id: "second" }), { port: first.port }), { code: "EADDRINUSE" });
  } finally {
    await first.close();
  }
});

test("listenWs speaks the capbus.v2 subprotocol: offered, it is chosen; none, accepted; only others, refused (400)", async () => {
  const listener = await listenWs(new Peer({ id: "L" }));
  const open = (protocols?: string | string[]) =>
    new Promise<{ protocol?: string; status?: number }>((resolve) => {
      const ws = new WebSocket(listener.url, protocols);
      ws.once("open", () => {
        resolve({ protocol: ws.protocol });
        ws.terminate();
      });
      ws.once("unexpected-response", (_request, response) => {
        resolve({ status: response.statusCode ?? 0 });
        ws.terminate();
      });
      ws.once("error", () => undefined);
    });
  try {
    assert.deepEqual(await open(WS_SUBPROTOCOL), { protocol: "capbus.v2" });
    assert.deepEqual(await open(["chat", WS_SUBPROTOCOL]), { protocol: "capbus.v2" });
    assert.deepEqual(await open(), { protocol: "" }, "a bare WebSocket client is taken as capbus");
    assert.deepEqual(await open("chat"), { status: 400 }, "a client of another service is refused");
  } finally {
    await listener.close();
  }
});

test("dialWs offers capbus.v2", async () => {
  const offered: Array<string | undefined> = [];
  const s = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  s.on("connection", (_ws, request) => offered.push(request.headers["sec-websocket-protocol"]));
  await new Promise<void>((resolve) => s.once("listening", () => resolve()));
  const address = s.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  try {
    const link = await openWs(`ws://127.0.0.1:${port}`);
    assert.deepEqual(offered, ["capbus.v2"]);
    link.close("OK", "done");
  } finally {
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});
