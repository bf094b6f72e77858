/**
 * Child process A: a keyed peer that dials B through the proxy and sends the seeded stream,
 * at most `window` messages undecided at a time. Prints its id, waits for "go" on stdin.
 * Usage: sender.ts <socket path> <B's id> <seed> <count>
 */
import { createInterface } from "node:readline";
import { Identity, Peer } from "@capbus/core";
import { dialUnix } from "@capbus/transport-unix";
import { streamValue } from "./stream.js";

const [path, remote, seedText, countText] = process.argv.slice(2);
const seed = Number(seedText);
const count = Number(countText);
const peer = new Peer({ identity: await Identity.generate() });
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
say({ ready: peer.id });
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()));

const dialer = dialUnix(peer, path!, remote!, {
  heartbeatMs: 100,
  deadAfterMs: 500,
  retryMs: 20,
  maxRetryMs: 200,
});
await dialer.ready;
const handle = peer.importHandle({ owner: remote!, node: 1, holder: peer.id });
const window: Promise<unknown>[] = [];
for (let i = 0; i < count; i++) {
  window.push(
    peer.send(handle, { i, v: streamValue(seed, i) }).then((r) => {
      if (!r.ok) throw new Error(`message ${i} failed: ${JSON.stringify(r.destinations)}`);
    }),
  );
  if (window.length >= 64) await window.shift();
}
await Promise.all(window);
say({ sent: count });
dialer.stop();
// Stay until the parent ends this process, so the last acks and frames can still flow.
