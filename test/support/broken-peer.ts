/**
 * A capbus peer that breaks one rule on purpose, for the conformance kit's own test: on the Unix
 * socket given as argv[2] it never writes a `close` frame (the bug of issue 20, everywhere), so
 * every refusal leaves the kit a connection that just ends; on a WebSocket endpoint neither, so a
 * refusal is a bare ws close 4000 carrying the code, and an upgrade offering only other
 * subprotocols than capbus.v2 is let in. Prints the test node's capability URL, then
 * the ws endpoint, then takes every delivery, until killed. CAPBUS_TRACE is honoured as by any peer.
 */
import { createServer } from "node:net";
import type { Link } from "@capbus/core";
import { startPeer } from "@capbus/node";
import { StreamLink } from "@capbus/transport-unix";
import { WS_SUBPROTOCOL, WsLink } from "@capbus/transport-ws";
import { WebSocketServer } from "ws";

/** A close frame is a 5-element array of type 9: [9, 0, ack, code, reason]. */
const isClose = (bytes: Uint8Array) => bytes[0] === 0x85 && bytes[1] === 0x09;

/** A ws link that writes no close frame, its transport's refusals included. */
class NoCloseWsLink extends WsLink {
  protected override write(frame: Uint8Array): void {
    if (!isClose(frame)) super.write(frame);
  }
}

const path = process.argv[2]!;
const started = await startPeer({ listen: [`unix:${path}.real`] });
const { peer } = started;
const node = peer.createNode();
createServer((socket) => {
  const link = new StreamLink(socket);
  const broken: Link = {
    send: (bytes) => (isClose(bytes) ? undefined : link.send(bytes)),
    close: (code, reason) => link.close(code, reason),
    attach: (handler) => link.attach(handler),
    introduced: () => link.introduced?.(),
  };
  peer.connect(broken, undefined, { graceMs: 30_000 });
}).listen(path, () => {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  wss.on("connection", (ws) => peer.connect(new NoCloseWsLink(ws), undefined, { graceMs: 30_000 }));
  wss.on("listening", () => {
    const address = wss.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    process.stdout.write(`${peer.export(node)}\nws://127.0.0.1:${port}\n`);
  });
});
for (;;) if ((await peer.receive()) === undefined) break;
