/**
 * A handle passed through several peers. The owner exports a node (a "document") to the first
 * peer only; from there the handle travels inside messages, peer to peer, each hop giving the
 * next peer its own reference to the same node. The last peer in the chain writes to the
 * document: the owner receives it directly (no relaying through the chain). Then the owner
 * destroys the node: the owner and every holder are told, each with a `destroyed` notification
 * in the global order, and a send to the dead node is refused.
 *
 * Run: npm run example:object-passing [-- HOPS]  (default 4 peers in the chain; one process)
 */
import { type MessageEvent, startPeer } from "@capbus/node";
import { inbox } from "../shared/inbox.js";

export async function main(hops: number): Promise<void> {
  const owner = await startPeer();
  const ownerEvents = inbox(owner.peer);
  const doc = owner.peer.createNode();
  console.log(`owner ${owner.peer.id.slice(0, 8)} created ${doc.name.slice(0, 8)}…/${doc.id}`);

  const chain = await Promise.all(
    Array.from({ length: hops }, async (_, i) => {
      const started = await startPeer();
      const mailbox = started.peer.createNode();
      return {
        name: `peer-${i + 1}`,
        ...started,
        events: inbox(started.peer),
        url: started.peer.export(mailbox),
      };
    }),
  );

  // The owner gives the first peer a capability URL; from then on the handle travels in messages.
  let held = await chain[0]!.peer.import(owner.peer.export(doc));
  console.log(`peer-1 imported the document by its capability URL`);
  for (let i = 1; i < chain.length; i++) {
    const from = chain[i - 1]!;
    const to = chain[i]!;
    const next = await from.peer.import(to.url);
    const sent = await from.peer.send(next, { here: "the document" }, { handles: [held] });
    if (!sent.ok) throw new Error(`hop ${i} failed`);
    const got = (await to.events.until((e) => e.kind === "message")) as MessageEvent;
    held = got.handles[0]!;
    console.log(
      `${from.name} passed it to ${to.name} (${to.name} now holds ${held.name.slice(0, 8)}…/${held.nodeId})`,
    );
  }

  const last = chain.at(-1)!;
  await last.peer.send(held, { text: `hello from ${last.name}` });
  const wrote = (await ownerEvents.until((e) => e.kind === "message")) as MessageEvent;
  console.log(`owner received ${JSON.stringify(wrote.payload)} straight from ${last.name}`);

  // The owner destroys the node: everyone holding it is told.
  const destroyedAt = await owner.peer.destroy(doc);
  console.log(`owner destroyed the document at lamport ${destroyedAt.lamport}`);
  const told = [];
  for (const peer of [{ name: "owner", events: ownerEvents }, ...chain]) {
    const event = await peer.events.until((e) => e.kind === "destroyed" && e.handle.nodeId === doc.id);
    if (event.kind === "destroyed") {
      told.push(peer.name);
      console.log(`  ${peer.name}: destroyed (reason ${event.reason}, ts ${event.ts.lamport})`);
    }
  }
  const after = await last.peer.send(held, { text: "anyone there?" }).then(
    (r) => (r.ok ? "ok" : r.destinations[0]?.code),
    (e: { code?: string }) => e.code,
  );
  console.log(`${last.name} writing after the destroy: ${after}`);
  console.log(`everyone was told: ${told.length === chain.length + 1}`);
  if (told.length !== chain.length + 1 || after === "ok") process.exitCode = 1;

  for (const peer of chain) await peer.close();
  await owner.close();
}

await main(Number(process.argv[2] ?? 4));
