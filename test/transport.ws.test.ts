/** The transport conformance suite over WebSockets, plus checks of their own. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type LinkClosedInfo, Peer, systemRuntime } from "@capbus/core";
import { listenWs, WsLink } from "@capbus/transport-ws";
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
      const [client, accepted] = await s.connect();
      return {
        a: new WsLink(client),
        b: new WsLink(accepted),
        cut: () => {
          client.terminate();
          accepted.terminate();
        },
        stall: () => accepted.pause(),
        unstall: () => accepted.resume(),
      };
    },
    until,
    close: () => s.close(),
  };
});

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
