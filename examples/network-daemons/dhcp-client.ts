/**
 * DHCP client C: exports its inbox, then answers every start-dhcp request, checking that it
 * delivered the announcement of that link first (the race capbus rules out).
 * Inputs: { listen?: string[] }. Offers { dhcp }. Tells { delivery } per event, { dhcp } per request.
 */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { type Announcement, type DhcpReply, type DhcpRequest, delivery } from "./messages.js";

const ctx = childContext<{ listen?: string[] }>();
// The name labels this peer's lane in `capbus trace render`; summaries show payloads on hover.
const started = await startPeer({
  name: "C dhcp-client",
  traceSummary: 80,
  ...(ctx.inputs.listen ? { listen: ctx.inputs.listen } : {}),
});
ctx.onStop(() => started.close());
const { peer } = started;
const inbox = peer.createNode();
ctx.ready({ dhcp: peer.export(inbox) }, { peer: peer.id });

const known = new Set<string>();
for await (const event of peer) {
  ctx.tell({ delivery: delivery(event) });
  if (event.kind !== "message") continue;
  const message = event.payload as Announcement | DhcpRequest;
  if (message.kind === "link-added") {
    known.add(message.link);
    continue;
  }
  const reply: DhcpReply = { started: known.has(message.link), link: message.link };
  ctx.tell({ dhcp: { link: message.link, knewLink: reply.started } });
  await event.reply?.(reply);
}
