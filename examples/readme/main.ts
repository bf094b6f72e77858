import { tmpdir } from "node:os";
import { startPeer } from "capbus/node";

const a = await startPeer(); // a key pair, listening on ws://127.0.0.1:<some port>
const b = await startPeer({ listen: [`unix:${tmpdir()}/capbus-readme-${process.pid}.sock`] });

const inbox = a.peer.createNode();
const url = a.peer.export(inbox); // capbus://127.0.0.1:<port>/<a's id>/<secret>

const handle = await b.peer.import(url); // b dials a and presents the secret
const result = await b.peer.send(handle, { hello: "world" });
console.log("committed at", result.ts); // the final timestamp every peer orders this message by

const event = await a.peer.receive(); // { kind: "message", payload: { hello: "world" }, ts, ... }
if (event?.kind === "message") console.log("a got", event.payload);
await a.peer.destroy(inbox); // every holder of a handle to it is told, in the order
console.log("b was told:", (await b.peer.receive())?.kind); // "destroyed"
await Promise.all([a.close(), b.close()]);
