/**
 * Memory a hostile peer can make a victim hold (issue 17, spec/limits.md §4, spec/security.md §3):
 * quotas charge what decoded frames take, a remote that never acknowledges cannot grow a session
 * without bound, endpoint hints, replay sets, handle tables and tombstones are bounded, and a
 * cleanly closed session leaves nothing behind.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Peer } from "@capbus/core";
import { ScriptedLink, SimWorld } from "@capbus/sim";
import { FrameCodec } from "@capbus/wire";
import { frozenRuntime, helloBytes } from "./support/fuzz-victim.js";

const codec = new FrameCodec();

/** A victim V on a scripted link from an attacker X that holds a reference to V's node. */
function scripted(options: ConstructorParameters<typeof Peer>[0] = {}) {
  const victim = new Peer({ id: "V", runtime: frozenRuntime, ...options });
  const node = victim.createNode();
  victim.grant(node, "X");
  const link = new ScriptedLink();
  victim.connect(link, "X");
  link.deliver(helloBytes("X"));
  let seq = 0;
  const send = (body: Record<string, unknown>) =>
    link.deliver(codec.encode({ ...body, seq: ++seq, ack: 0 } as never));
  return { victim, node, link, send };
}

test("quotas charge what a payload takes decoded: many empty maps are refused at their real cost", async () => {
  const w = new SimWorld({ seed: 21, latency: { min: 1, max: 3 } });
  const victim = w.addPeer("V", { quota: { maxQueuedBytes: 1024 * 1024 } });
  const sender = w.addPeer("S");
  w.linkAll();
  const inbox = w.give(victim.createNode(), "S");
  // 20 000 empty maps: 20 KB on the wire, about 1.3 MB once decoded (64 bytes a map on V8).
  const maps = Array.from({ length: 20_000 }, () => ({}));
  const bytes = new Uint8Array(20_000); // as many wire bytes, held as they are
  const [ofMaps, ofBytes] = [sender.send(inbox, maps), sender.send(inbox, bytes)];
  await w.run();
  assert.equal((await ofMaps).destinations[0]?.code, "E_QUOTA", "the maps cost more than the whole queue");
  assert.ok((await ofBytes).ok, "the same wire size of bytes fits");
  const held = victim.queuedFromOthers.bytes;
  assert.ok(held >= 20_000 && held < 25_000, `the byte string is charged about its size: ${held}`);
  await w.close();
});

test("a remote that never acknowledges cannot make a session hold more than its bounds", async () => {
  // V answers every unicast of X with an accept; X acknowledges none of them, and keeps sending.
  const window = { maxUnackedBytes: 64 * 1024, maxBufferedBytes: 64 * 1024 };
  const { victim, node, link, send } = scripted({ session: window });
  (link as { send(frame: Uint8Array): void }).send = () => undefined; // X reads nothing
  let held = 0;
  let sent = 0;
  for (; sent < 20_000 && !link.closed; sent++) {
    send({ type: "unicast", event: sent + 1, clock: 0, node: node.id, payload: sent });
    while (victim.poll());
    const stats = victim.stats().links.X;
    held = Math.max(held, (stats?.unackedBytes ?? 0) + (stats?.bufferedBytes ?? 0));
    await null; // the close waits a microtask (it must not end the session inside a round)
  }
  assert.equal(link.closed?.code, "E_QUOTA", `the session closed after ${sent} answers held ${held} bytes`);
  // Each answer is ~20 wire bytes but ~180 held: the window and twice the queue bound it.
  assert.ok(held <= 64 * 1024 + 2 * 64 * 1024, `held ${held} bytes`);
  assert.ok(sent < 2000, `closed after ${sent} answers, not ${Math.round((3 * 64 * 1024) / 20)}`);
});
