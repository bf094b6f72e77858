/**
 * A capbus peer that breaks one rule on purpose, for the conformance kit's own test: on the Unix
 * socket given as argv[2] it never writes a `close` frame (the bug of issue 20, everywhere), so
 * every refusal leaves the kit a connection that just ends. Prints the test node's capability URL,
 * then takes every delivery, until killed. CAPBUS_TRACE is honoured as by any peer.
 */
import { createServer } from "node:net";
import type { Link } from "@capbus/core";
import { startPeer } from "@capbus/node";
import { StreamLink } from "@capbus/transport-unix";

const path = process.argv[2]!;
const started = await startPeer({ listen: [`unix:${path}.real`] });
const { peer } = started;
const node = peer.createNode();
createServer((socket) => {
  const link = new StreamLink(socket);
  const broken: Link = {
    // A close frame is a 5-element array of type 9: [9, 0, ack, code, reason].
    send: (bytes) => (bytes[0] === 0x85 && bytes[1] === 0x09 ? undefined : link.send(bytes)),
    close: (code, reason) => link.close(code, reason),
    attach: (handler) => link.attach(handler),
    introduced: () => link.introduced?.(),
  };
  peer.connect(broken, undefined, { graceMs: 30_000 });
}).listen(path, () => process.stdout.write(`${peer.export(node)}\n`));
for (;;) if ((await peer.receive()) === undefined) break;
