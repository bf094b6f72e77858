/**
 * Request/reply over real sockets (spec/ordering.md §13, spec/ordering.md §14 B7): one frame each way per round
 * trip, counted from Peer.stats(), and the replies in order.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type StartedPeer, startPeer } from "@capbus/node";

/** Frames both ways on `peer`'s session with `remote`. */
function frames(peer: StartedPeer, remote: string): number {
  const link = peer.peer.stats().links[remote];
  return (link?.framesOut ?? 0) + (link?.framesIn ?? 0);
}

async function roundTrips(listen: string): Promise<void> {
  const server = await startPeer({ listen: [listen] });
  const client = await startPeer({ listen: [] });
  try {
    void (async () => {
      for await (const event of server.peer) {
        if (event.kind === "message" && event.reply) void event.reply((event.payload as number) + 1);
      }
    })();
    const handle = await client.peer.import(server.peer.export(server.peer.createNode()));
    // The first request carries the reply handle (a round); later ones are fast unicasts.
    for (let n = 0; n < 5; n++) assert.equal(await client.peer.request(handle, n), n + 1);
    const before = frames(client, server.peer.id);
    const calls = 200;
    for (let n = 0; n < calls; n++) assert.equal(await client.peer.request(handle, n), n + 1);
    const used = frames(client, server.peer.id) - before;
    // The request carries the accept of the reply before it, the reply its request's: 2 frames
    // per round trip (4 before B7). A pure ack or two may pass meanwhile (ackDelayMs).
    assert.ok(used >= 2 * calls && used <= 2 * calls + 4, `${used} frames for ${calls} round trips`);
    assert.equal(client.peer.stats().events.undecided, 0);
  } finally {
    await Promise.all([client.close(), server.close()]);
  }
}

test("request/reply over ws: one frame each way per round trip", () => roundTrips("ws://127.0.0.1:0"));

test("request/reply over a Unix socket: one frame each way per round trip", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capbus-rr-"));
  try {
    await roundTrips(`unix:${join(dir, "s.sock")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
