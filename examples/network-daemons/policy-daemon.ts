/**
 * Policy daemon B: every announced link gets DHCP. On delivering A's announcement it asks C to
 * start DHCP on the link (a request, answered by C), so B's request happens after A's
 * announcement and capbus orders it after the announcement at C too.
 * Inputs: { listen?: string[], dhcp: C's URL }. Offers { policy }. Tells { delivery }, { asked }.
 */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { type Announcement, type DhcpReply, type DhcpRequest, delivery } from "./messages.js";

const ctx = childContext<{ listen?: string[]; dhcp: string }>();
// The name labels this peer's lane in `capbus trace render`; summaries show payloads on hover.
const started = await startPeer({
  name: "B policy-daemon",
  traceSummary: 80,
  ...(ctx.inputs.listen ? { listen: ctx.inputs.listen } : {}),
});
ctx.onStop(() => started.close());
const { peer } = started;
const dhcp = await peer.import(ctx.inputs.dhcp);
const inbox = peer.createNode();
ctx.ready({ policy: peer.export(inbox) }, { peer: peer.id });

for await (const event of peer) {
  ctx.tell({ delivery: delivery(event) });
  if (event.kind !== "message") continue;
  const { link } = event.payload as Announcement;
  // Not awaited: B keeps delivering while C answers (a failed request crashes B, which the test
  // sees as the child exiting).
  void peer
    .request(dhcp, { kind: "start-dhcp", link } satisfies DhcpRequest)
    .then((answer) => ctx.tell({ asked: answer as DhcpReply }));
}
