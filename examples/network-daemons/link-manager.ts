/**
 * Link manager A: imports the inboxes of B and C from their capability URLs and announces each
 * new link to both in one multicast, so both deliver it at the same place in the order.
 * Inputs: { listen?: string[], announceTo: URLs, links: names }. Tells { announced } per send.
 */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import type { Announcement } from "./messages.js";

const ctx = childContext<{ listen?: string[]; announceTo: string[]; links: string[] }>();
// The name labels this peer's lane in `capbus trace render`; summaries show payloads on hover.
const started = await startPeer({
  name: "A link-manager",
  traceSummary: 80,
  ...(ctx.inputs.listen ? { listen: ctx.inputs.listen } : {}),
});
ctx.onStop(() => started.close());
const { peer } = started;
const to = await Promise.all(ctx.inputs.announceTo.map((url) => peer.import(url)));
ctx.ready({}, { peer: peer.id });

await ctx.next("go");
// All at once, as a link manager would on start-up: none waits for another's round.
const sends = ctx.inputs.links.map((link) => ({
  link,
  at: Date.now(),
  sent: peer.send(to, { kind: "link-added", link } satisfies Announcement),
}));
for (const { link, at, sent } of sends) {
  const { ok, ts } = await sent;
  ctx.tell({ announced: { link, ok, ts: ts ? [ts.lamport, ts.peer, ts.seq] : null, at } });
}
