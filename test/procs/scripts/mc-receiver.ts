/**
 * A receiver of the multicast test: exports its inbox, reports every delivery, and destroys the
 * inbox when told "destroy". Offers { inbox }. Tells { delivery }, { destroyed }.
 */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { deliveryLine } from "./report.js";

const ctx = childContext();
const started = await startPeer();
ctx.onStop(() => started.close());
const { peer } = started;
const inbox = peer.createNode();
ctx.ready({ inbox: peer.export(inbox) }, { peer: peer.id });

void ctx.next("destroy").then(async () => {
  const ts = await peer.destroy(inbox);
  ctx.tell({ destroyed: { lamport: ts.lamport } });
});
for await (const event of peer) ctx.tell(deliveryLine(event));
