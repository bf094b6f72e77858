/**
 * The sender of the multicast test: imports every receiver's inbox and, on "go", sends `count`
 * multicasts to all of them back to back (none waits for another's round), then reports which
 * destinations committed each one. Inputs: { to: URLs, count }. Tells { results }, { delivery }.
 */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { deliveryLine } from "./report.js";

const ctx = childContext<{ to: string[]; count: number }>();
const started = await startPeer();
ctx.onStop(() => started.close());
const { peer } = started;
const to = await Promise.all(ctx.inputs.to.map((url) => peer.import(url)));
ctx.ready({}, { peer: peer.id });

void (async () => {
  for await (const event of peer) ctx.tell(deliveryLine(event));
})();

await ctx.next("go");
const sends = Array.from({ length: ctx.inputs.count }, (_, i) => peer.send(to, { i }));
const results = [];
for (const sent of sends) {
  const { destinations } = await sent;
  results.push(destinations.map((d) => ({ committed: d.committed, code: d.code ?? null })));
}
ctx.tell({ results });
