/**
 * Child process B: a keyed peer listening on a Unix socket. Prints its id, grants its node to
 * the sender id read from stdin, then prints every delivery once `count` have arrived.
 * Usage: receiver.ts <socket path> <count>
 */
import { createInterface } from "node:readline";
import { Identity, Peer } from "@capbus/core";
import { listenUnix } from "@capbus/transport-unix";

const [path, countText] = process.argv.slice(2);
const count = Number(countText);
const peer = new Peer({ identity: await Identity.generate() });
const node = peer.createNode();
const timing = { heartbeatMs: 100, deadAfterMs: 500 };
await listenUnix(peer, path!, timing);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
say({ ready: peer.id });

const lines = createInterface({ input: process.stdin });
lines.once("line", (sender) => {
  peer.grant(node, sender.trim());
  say({ granted: true });
});

const got: Array<[number, number]> = [];
for await (const event of peer) {
  if (event.kind !== "message") continue;
  const { i, v } = event.payload as { i: number; v: number };
  got.push([i, v]);
  if (got.length === count) break;
}
say({ got });
peer.abort();
process.exit(0);
