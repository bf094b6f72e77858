/** Repro child (scripts/chaos/crossdial.ts): imports the other peer's URL on { other }, then sends to it. */
import { startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";

const ctx = childContext();
const started = await startPeer();
ctx.onStop(() => started.close());
const { peer } = started;
ctx.ready({ inbox: peer.export(peer.createNode()) }, { peer: peer.id });
void (async () => {
  for await (const event of peer) ctx.tell({ got: event.kind });
})();
const { other } = await ctx.next<{ other: string }>("other");
try {
  const handle = await peer.import(other);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const sent = await peer.send(handle, "hi");
  ctx.tell({ sent: sent.destinations.map((d) => d.code ?? "ok") });
} catch (error) {
  ctx.tell({ sent: [`import failed: ${(error as { code?: string }).code}`] });
}
