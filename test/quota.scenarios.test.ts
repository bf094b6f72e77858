/** Quotas (spec/limits.md §4): a flooding sender takes at most half of a victim's queue. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Peer, SendResult } from "@capbus/core";
import { SimWorld } from "@capbus/sim";

test("a flood fills at most half of the victim's queue, the victim keeps serving others", async () => {
  const w = new SimWorld({ seed: 9, latency: { min: 1, max: 3 } });
  // A small quota so the flood hits it quickly: 400 events or 256 KiB from others in all.
  const victim = w.addPeer("V", { quota: { maxQueuedEvents: 400, maxQueuedBytes: 256 * 1024 } });
  const [hostile, honest] = ["H", "O"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const inbox = victim.createNode();
  const fromHostile = w.give(inbox, "H");
  const fromHonest = w.give(inbox, "O");
  const payload = new Uint8Array(1024);
  const flood: Promise<SendResult>[] = [];
  for (let i = 0; i < 3000; i++) flood.push(hostile.send(fromHostile, payload));
  await w.run();
  const results = await Promise.all(flood);
  const refused = results.filter((r) => r.destinations[0]?.code === "E_QUOTA").length;
  const used = victim.queuedFromOthers;
  console.log(
    `flood: 3000 sends of 1 KiB, ${3000 - refused} queued at the victim, ${refused} refused with E_QUOTA; ` +
      `victim holds ${used.events} events, ${used.bytes} bytes from others; heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`,
  );
  assert.ok(refused > 0, "the flood hits the quota");
  assert.ok(used.events <= 200 && used.bytes <= 128 * 1024, "one sender holds at most half of each");
  const honestSends = Array.from({ length: 20 }, (_, i) => honest.send(fromHonest, i));
  await w.run();
  const honestSent = await Promise.all(honestSends);
  assert.ok(
    honestSent.every((r) => r.ok),
    "another sender still gets in",
  );
  // Reading frees the hostile sender's share again.
  let read = 0;
  while (victim.poll()) read++;
  assert.equal(read, 3000 - refused + 20);
  assert.deepEqual(victim.queuedFromOthers, { events: 0, bytes: 0 });
  const again = hostile.send(fromHostile, payload);
  await w.run();
  assert.ok((await again).ok);
  await w.close();
});

test("a peer holds at most maxHandles handles: a message bringing more is refused with E_QUOTA", async () => {
  const w = new SimWorld({ seed: 10 });
  const small = w.addPeer("S", { maxHandles: 3 });
  const giver = w.addPeer("G");
  w.linkAll();
  const inbox = small.createNode(); // the owner's own node takes one handle slot
  const toInbox = w.give(inbox, "G");
  const nodes = [giver.createNode(), giver.createNode(), giver.createNode()];
  const first = giver.send(toInbox, "two", { handles: [nodes[0]!.handle, nodes[1]!.handle] });
  await w.run();
  assert.ok((await first).ok);
  const second = giver.send(toInbox, "one more", { handles: [nodes[2]!.handle] });
  await w.run();
  assert.equal((await second).destinations[0]?.code, "E_QUOTA");
  await w.close();
});

test("Sybils: 8 fresh keys flooding cannot get a sender linked before them refused", async () => {
  const w = new SimWorld({ seed: 11, latency: { min: 1, max: 3 } });
  // 1024 events / 1 MiB from others in all: each of the first 64 linked senders has a reserve of
  // 8 events and 8 KiB; the other half is shared by the half-share rule (spec/limits.md §4).
  const victim = w.addPeer("V", { quota: { maxQueuedEvents: 1024, maxQueuedBytes: 1024 * 1024 } });
  const honest = w.addPeer("O");
  w.link("V", "O");
  await w.run();
  const inbox = victim.createNode();
  const fromHonest = w.give(inbox, "O");
  const sybils = Array.from({ length: 8 }, (_, i) => w.addPeer(`S${i}`));
  for (const sybil of sybils) w.link("V", sybil.id);
  await w.run();
  const payload = new Uint8Array(1024);
  // One key after another, each taking what the rule leaves it (under the half-share rule alone:
  // half of what the others left, so each new key halved the honest sender's share).
  const flood: Promise<SendResult>[] = [];
  for (const sybil of sybils) {
    const handle = w.give(inbox, sybil.id);
    for (let i = 0; i < 600; i++) flood.push(sybil.send(handle, payload));
    await w.run();
  }
  const refused = (await Promise.all(flood)).filter((r) => r.destinations[0]?.code === "E_QUOTA").length;
  assert.ok(refused > 0, "the Sybils hit the quota");
  // The victim reads nothing meanwhile: the honest sender's messages stay queued beside the flood.
  const honestSends = Array.from({ length: 5 }, () => honest.send(fromHonest, payload));
  await w.run();
  const codes = (await Promise.all(honestSends)).map((r) => r.destinations[0]?.code ?? "ok");
  console.log(`sybils: ${flood.length} sends, ${refused} refused; the honest sender's 5: ${codes.join(",")}`);
  assert.deepEqual(codes, ["ok", "ok", "ok", "ok", "ok"], "the honest sender keeps its reserve");
  await w.close();
});
