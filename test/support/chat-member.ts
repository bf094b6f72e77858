/**
 * A browser-chat member as a Node process (for test/examples.test.ts): imports the room by the
 * capability URL given as the argument, joins with a handle to its inbox, prints "joined", and
 * stays until killed.
 */
import { startPeer } from "@capbus/node";

const { peer } = await startPeer();
const room = await peer.import(process.argv[2] ?? "");
const inbox = peer.createNode();
await peer.send(room, { type: "join", name: "sleepy" }, { handles: [inbox.handle] });
console.log("joined");
setInterval(() => undefined, 60_000);
