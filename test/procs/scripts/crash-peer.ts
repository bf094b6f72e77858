/**
 * One process of the crash test (crash.procs.test.ts). It exports an inbox, imports the other
 * side's inbox when told ({ other }), and reports every event; a short grace period makes a
 * killed remote count as crashed quickly.
 * Inputs: none. Offers { inbox }. Tells { delivery } per event and { linked } after importing.
 */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { deliveryLine } from "./report.js";

const ctx = childContext();
const started = await startPeer({ linkSession: { graceMs: 300 } });
ctx.onStop(() => started.close());
const { peer } = started;
ctx.ready({ inbox: peer.export(peer.createNode()) }, { peer: peer.id });

void ctx.next("other").then(async (line) => {
  const handle = await peer.import(String(line.other));
  ctx.tell({ linked: handle.name });
});

for await (const event of peer) ctx.tell(deliveryLine(event));
