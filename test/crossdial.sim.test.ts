/**
 * Crossed dials (spec/transports.md §3.4): two peers dial each other at about the same moment.
 * Whatever the timing, both must end with one live session (the simulator's grace is 0, so any
 * break on the way would end it) and frames must flow both ways over it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Peer } from "@capbus/core";
import { SimWorld } from "@capbus/sim";

/**
 * `from` dials `to`: `from` names whom it expects, `to` accepts and learns it from the hello.
 * Codes the ends close with go to `closes`.
 */
function dial(world: SimWorld, from: string, to: string, closes: string[]): void {
  const ends = world.network.link(from, to, { latency: { min: 1, max: 30 } });
  for (const end of ends) {
    const close = end.close.bind(end);
    end.close = (code, reason) => {
      closes.push(code);
      close(code, reason);
    };
  }
  world.peer(from).connect(ends[0], to);
  world.peer(to).connect(ends[1]);
}

async function inbox(peer: Peer): Promise<unknown[]> {
  const got: unknown[] = [];
  for (let event = peer.poll(); event; event = peer.poll())
    if (event.kind === "message") got.push(event.payload);
  return got;
}

for (const [first, second] of [
  ["a", "b"],
  ["b", "a"],
] as const) {
  test(`crossed dials settle on one session (${first} dials first), 300 seeds`, async () => {
    let crossed = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const world = new SimWorld({ seed });
      const a = world.addPeer("a");
      const b = world.addPeer("b");
      const offset = seed % 40; // from simultaneous to well after the first hello lands
      const closes: string[] = [];
      dial(world, first, second, closes);
      world.scheduler.setTimer(offset, () => dial(world, second, first, closes));
      await world.run();
      const where = `seed ${seed}, offset ${offset}`;
      assert.deepEqual(a.linkedPeers, ["b"], where);
      assert.deepEqual(b.linkedPeers, ["a"], where);
      assert.ok(a.stats().links.b?.live && b.stats().links.a?.live, where);

      const atA = world.give(a.createNode(), "b");
      const atB = world.give(b.createNode(), "a");
      const sent = [a.send(atB, `to b ${seed}`), b.send(atA, `to a ${seed}`)];
      await world.run();
      await Promise.all(sent);
      assert.deepEqual(await inbox(b), [`to b ${seed}`], where);
      assert.deepEqual(await inbox(a), [`to a ${seed}`], where);
      // A dial made after the session is up resumes it on the new link (E_REPLACED): no break.
      assert.ok(
        closes.every((code) => code === "E_CROSSED" || code === "E_REPLACED"),
        `${where}: ${closes}`,
      );
      if (closes.includes("E_CROSSED")) crossed++;
      await world.close();
    }
    assert.ok(crossed > 50, `only ${crossed} runs crossed the dials`);
  });
}
