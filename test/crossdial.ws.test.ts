/**
 * Crossed dials over real WebSockets with keyed handshakes (spec/transports.md §3.4): two peers
 * import each other's capability URL at the same moment, so each dials the other. Before spec/transports.md §3.4
 * both sessions were lost in nearly every run; now both ends must keep one session, and a send
 * each way must arrive.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startPeer } from "@capbus/node";

async function next(peer: AsyncIterable<{ kind: string }>): Promise<{ kind: string }> {
  for await (const event of peer) return event;
  throw new Error("the peer closed");
}

test("peers importing each other at once keep one session (20 rounds)", async () => {
  for (let round = 0; round < 20; round++) {
    const [a, b] = await Promise.all([startPeer(), startPeer()]);
    try {
      const urlA = a.peer.export(a.peer.createNode());
      const urlB = b.peer.export(b.peer.createNode());
      const [toB, toA] = await Promise.all([a.peer.import(urlB), b.peer.import(urlA)]);
      const sent = await Promise.all([a.peer.send(toB, "from a"), b.peer.send(toA, "from b")]);
      for (const result of sent)
        assert.deepEqual(
          result.destinations.map((d) => d.code),
          [undefined],
          `round ${round}`,
        );
      const [atA, atB] = await Promise.all([next(a.peer), next(b.peer)]);
      assert.equal(atA.kind, "message", `round ${round}`);
      assert.equal(atB.kind, "message", `round ${round}`);
      assert.deepEqual(a.peer.linkedPeers, [b.peer.id], `round ${round}`);
      assert.deepEqual(b.peer.linkedPeers, [a.peer.id], `round ${round}`);
      assert.ok(
        a.peer.stats().links[b.peer.id]?.live && b.peer.stats().links[a.peer.id]?.live,
        `round ${round}`,
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }
});
