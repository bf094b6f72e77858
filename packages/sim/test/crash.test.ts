/** SimNetwork.crash, SimWorld.crash and MidRoundCrasher: a process dying, mid-round or not. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LinkClosedInfo } from "@capbus/core";
import { LINK_CUT, MidRoundCrasher, Random, SimNetwork, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

test("a crashed endpoint's frames in flight arrive, then the close; nothing after leaves or arrives", async () => {
  const net = new SimNetwork({ seed: 3 });
  const [a, b] = net.link("a", "b", { latency: { min: 10, max: 10 } });
  const got: string[] = [];
  const closes: LinkClosedInfo[] = [];
  a.attach({ frame: (f) => got.push(`a:${f[0]}`), closed: (i) => closes.push(i) });
  b.attach({ frame: (f) => got.push(`b:${f[0]}`), closed: (i) => closes.push(i) });
  a.send(Uint8Array.of(1));
  net.scheduler.runFor(5);
  a.send(Uint8Array.of(2));
  b.send(Uint8Array.of(9)); // in flight to a when it dies: lost
  assert.equal(net.crash("a"), 1);
  a.send(Uint8Array.of(3)); // after the crash: never leaves
  net.scheduler.runUntilIdle();
  assert.deepEqual(got, ["b:1", "b:2"]);
  assert.deepEqual(
    closes.map((c) => [c.code, c.byRemote]),
    [
      [LINK_CUT, true],
      [LINK_CUT, true],
    ],
  );
  assert.equal(net.isCrashed("a"), true);
  assert.throws(() => net.link("a", "b"));
});

test("an observer that crashes the sender on seeing a frame: that frame is lost", () => {
  const net = new SimNetwork({ seed: 4 });
  const [a, b] = net.link("a", "b");
  const got: number[] = [];
  a.attach({ frame() {}, closed() {} });
  b.attach({ frame: (f) => got.push(f[0] ?? -1), closed() {} });
  net.observe((e) => {
    if (e.kind === "send" && e.bytes[0] === 2) net.crash("a");
  });
  for (const n of [1, 2, 3]) a.send(Uint8Array.of(n));
  net.scheduler.runUntilIdle();
  assert.deepEqual(got, [1]);
});

/** S multicasts to nodes of A, B and C; armed, it crashes mid-way through its commits. */
async function midCommit(seed: number) {
  const traces = new MemoryTraceSink();
  const world = new SimWorld({ seed, traceFor: () => traces });
  const ids = ["S", "A", "B", "C"];
  const peers = ids.map((id) => world.addPeer(id));
  world.linkAll();
  const nodes = peers.slice(1).map((p) => p.createNode());
  const handles = nodes.map((n) => world.give(n, "S"));
  const crasher = new MidRoundCrasher(world, new Random(seed).fork("crash"));
  crasher.arm("S", "commit");
  const sent = peers[0]!.send(handles, "split").catch(() => undefined);
  await world.run();
  void sent;
  const got = ids.filter((id) => world.peer(id).poll()?.kind === "message");
  await world.close();
  crasher.dispose();
  return { crash: crasher.crashes[0], got, traces };
}

test("MidRoundCrasher: the sender dies after its commit reached k of n destinations, k from the seed", async () => {
  const ks = new Set<number>();
  for (let seed = 1; seed <= 12; seed++) {
    const { crash, got, traces } = await midCommit(seed);
    assert.ok(crash, `seed ${seed}: crashed`);
    assert.equal(crash.peer, "S");
    assert.equal(crash.phase, "commit");
    assert.deepEqual([...crash.staged].sort(), ["A", "B", "C"]);
    assert.ok(crash.reached.length >= 1 && crash.reached.length <= 2, `k = ${crash.reached.length}`);
    ks.add(crash.reached.length);
    // Those the commit reached deliver (what the others do is the core's business).
    for (const peer of crash.reached) assert.ok(got.includes(peer), `seed ${seed}: ${peer} delivered`);
    // The sender's trace is a prefix that ends at the crash: no close, nothing after it.
    const s = traces.byPeer.get("S") ?? [];
    assert.equal(s.at(-1)?.op === "close", false);
    assert.equal(
      s.some((r) => r.op === "expire"),
      false,
    );
    // Deterministic from the seed.
    assert.deepEqual((await midCommit(seed)).crash, crash);
  }
  assert.deepEqual([...ks].sort(), [1, 2], "both cuts happen");
});

test("MidRoundCrasher, abort: the sender dies after its abort reached some destinations", async () => {
  const traces = new MemoryTraceSink();
  const world = new SimWorld({ seed: 9, latency: { min: 5, max: 10 }, traceFor: () => traces });
  const peers = ["S", "A", "B", "C"].map((id) => world.addPeer(id));
  world.linkAll();
  const handles = peers.slice(1).map((p) => world.give(p.createNode(), "S"));
  const crasher = new MidRoundCrasher(world, new Random(9));
  crasher.arm("S", "abort");
  const controller = new AbortController();
  world.scheduler.setTimer(1, () => controller.abort());
  const sent = peers[0]!.send(handles, "aborted", { signal: controller.signal }).catch((e: unknown) => e);
  await world.run();
  await sent;
  assert.equal(crasher.crashes.length, 1);
  const [crash] = crasher.crashes;
  assert.equal(crash?.phase, "abort");
  assert.ok((crash?.reached.length ?? 0) >= 1 && (crash?.reached.length ?? 3) < 3);
  // S's loss releases its handles (a `released` notification each); no message is delivered.
  for (const p of peers.slice(1)) {
    for (let e = p.poll(); e; e = p.poll()) assert.notEqual(e.kind, "message", `${p.id} delivers no message`);
  }
  await world.close();
  crasher.dispose();
});
