/**
 * One process of the handle chain (chain.procs.test.ts). It exports an inbox. With `source` and
 * `next` it starts the chain on "go": imports the handle named by `source` and sends it to
 * `next`. A handle received with `next` set is passed on to `next`; without, it is kept, and on
 * "use" this process sends to it directly.
 * Inputs: { source?: URL, next?: URL }. Offers { inbox }. Tells { delivery }, { forwarded },
 * { kept }, { used }.
 */
import { type Handle, startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { deliveryLine } from "./report.js";

const ctx = childContext<{ source?: string; next?: string }>();
const started = await startPeer();
ctx.onStop(() => started.close());
const { peer } = started;
ctx.ready({ inbox: peer.export(peer.createNode()) }, { peer: peer.id });

const { source, next } = ctx.inputs;
const nextHandle = next === undefined ? undefined : await peer.import(next);
if (source !== undefined && nextHandle !== undefined) {
  void ctx.next("go").then(async () => {
    const handle = await peer.import(source);
    const sent = await peer.send(nextHandle, { hop: 1 }, { handles: [handle] });
    ctx.tell({ forwarded: { node: handle.name, ok: sent.ok } });
  });
}

let kept: Handle | undefined;
void ctx.next("use").then(async (line) => {
  if (!kept) throw new Error("told to use a handle before one arrived");
  const sent = await peer.send(kept, line.use);
  ctx.tell({ used: { ok: sent.ok, codes: sent.destinations.map((d) => d.code ?? null) } });
});

for await (const event of peer) {
  ctx.tell(deliveryLine(event));
  if (event.kind !== "message" || event.handles.length === 0) continue;
  const [handle] = event.handles as [Handle];
  if (nextHandle) {
    const hop = (event.payload as { hop: number }).hop + 1;
    const sent = await peer.send(nextHandle, { hop }, { handles: [handle] });
    ctx.tell({ forwarded: { node: handle.name, ok: sent.ok } });
  } else {
    kept = handle;
    ctx.tell({ kept: { node: handle.name, state: handle.state } });
  }
}
