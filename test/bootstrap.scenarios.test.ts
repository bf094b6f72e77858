/** Capability URLs, direct links after a transfer, unreachable owners (spec/bootstrap.md), simulated. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { CapbusError, type Handle, type Peer, type PeerEvent } from "@capbus/core";
import { SimWorld, type SimWorldOptions } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

function world(options: Partial<SimWorldOptions> = {}) {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({
    seed: 4,
    latency: { min: 2, max: 8 },
    dial: true,
    traceFor: () => traces,
    ...options,
  });
  const check = () => {
    const report = checkTraces(traces.byPeer);
    assert.ok(report.ok, formatReport(report));
  };
  return { w, check };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (e instanceof CapbusError ? e.code : String(e)),
  );

/** Run the simulation until `promise` settles, and return its value. */
async function settle<T>(w: SimWorld, promise: Promise<T>): Promise<T> {
  let done = false;
  const finish = () => {
    done = true;
  };
  promise.then(finish, finish);
  await w.run({ until: () => done });
  return promise;
}

function messages(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

test("a capability URL gives a handle to whoever presents it, and nothing to a wrong secret", async () => {
  const { w, check } = world();
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  const inbox = a.createNode();
  const url = a.export(inbox);
  assert.match(url, /^capbus\+sim:\/\/A\/A\/[A-Za-z0-9_-]{22}$/);
  const handle = await settle(w, b.import(url));
  assert.equal(handle.name, "A/1");
  const sent = await settle(w, b.send(handle, "hi"));
  assert.ok(sent.ok);
  assert.deepEqual(
    messages(a).map((e) => e.kind === "message" && e.payload),
    ["hi"],
  );
  const forged = url.replace(/.{4}$/, "AAAA");
  assert.equal(await code(settle(w, b.import(forged))), "E_NO_EXPORT");
  assert.equal(a.revoke(url), 1);
  assert.equal(await code(settle(w, b.import(url))), "E_NO_EXPORT", "revoked");
  assert.ok((await settle(w, b.send(handle, "still mine"))).ok, "a handle already given stays");
  await w.close();
  check();
});

test("a handle passed on leads straight to its owner; the middle peer is no relay", async () => {
  const { w, check } = world();
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  const toA = await settle(w, b.import(a.export(a.createNode())));
  const toC = await settle(w, b.import(c.export(c.createNode())));
  assert.deepEqual(c.linkedPeers, ["B"], "C has never talked to A");
  await settle(w, b.send(toC, "A's node", { handles: [toA] }));
  await w.run();
  const [event] = messages(c);
  const handle = event?.kind === "message" ? (event.handles[0] as Handle) : undefined;
  assert.equal(handle?.state, "live");
  await settle(w, b.close());
  const sent = await settle(w, c.send(handle as Handle, "direct"));
  assert.ok(sent.ok);
  assert.ok(c.linkedPeers.includes("A"), "C dialled A");
  assert.deepEqual(
    messages(a).map((e) => e.kind === "message" && e.payload),
    ["direct"],
  );
  await w.close();
  check();
});

test("an owner that cannot be reached: its handles become destroyed (unreachable), sends fail", async () => {
  const { w } = world({ unreachable: new Set(["A"]), dialTimeoutMs: 1000 });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.link("A", "B");
  const toA = w.give(a.createNode(), "B");
  const toC = await settle(w, b.import(c.export(c.createNode())));
  await settle(w, b.send(toC, "A's node", { handles: [toA] }));
  const pending = code(
    c.receive().then((e) => (e?.kind === "message" ? c.send(e.handles[0] as Handle, 1) : undefined)),
  );
  await w.run();
  assert.equal(await pending, "E_UNREACHABLE");
  const notified = messages(c);
  assert.deepEqual(
    notified.map((e) => (e.kind === "destroyed" ? `${e.handle.name}:${e.reason}` : e.kind)),
    ["A/1:unreachable"],
  );
  await w.close();
});

test("a destroy waits for a new holder still dialling in, and notifies it", async () => {
  const { w, check } = world({ dialDelayMs: 300 });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  const node = a.createNode();
  const toA = await settle(w, b.import(a.export(node)));
  const toC = await settle(w, b.import(c.export(c.createNode())));
  const passed = b.send(toC, "A's node", { handles: [toA] });
  // A destroys while C is still dialling A (300 ms): A counted C when it answered B's notice.
  const destroyed = settle(
    w,
    passed.then(() => a.destroy(node)),
  );
  await destroyed;
  await w.run();
  assert.deepEqual(
    messages(c).map((e) => (e.kind === "destroyed" ? `destroyed:${e.handle.name}:${e.reason}` : e.kind)),
    ["message", "destroyed:A/1:destroyed"],
  );
  await w.close();
  check();
});
