/** The owner's and the sender's side of destroy and transfer, against scripted remotes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Peer, systemRuntime } from "@capbus/core";
import type { Frame } from "@capbus/wire";
import { scriptedRemote, tick } from "./support/scripted-remote.js";

const of = <T extends Frame["type"]>(frames: Frame[], type: T) =>
  frames.filter((f): f is Extract<Frame, { type: T }> => f.type === type);

test("after a destroy's pick, the owner answers stage and notice with dead, and unicast with E_DESTROYED", async () => {
  const p = new Peer({ id: "P" });
  const r = scriptedRemote(p, "R");
  const m = p.createNode();
  p.grant(m, "R");
  const destroyed = p.destroy(m);
  await tick();
  const [stage] = of(r.frames(), "destroy");
  assert.deepEqual(stage?.nodes, [m.id]);
  r.push({ type: "propose", event: stage?.event, lamport: 1 });
  const td = await destroyed;
  await tick();
  assert.deepEqual(
    of(r.frames(), "commit").map((c) => c.lamport),
    [td.lamport],
  );
  r.push({
    type: "stage",
    event: 1,
    clock: 0,
    nodes: [m.id],
    payload: "late",
    handles: [],
    receivers: ["P"],
  });
  r.push({ type: "notice", event: 2, clock: 0, nodes: [m.id], receivers: ["P"] });
  r.push({ type: "unicast", event: 3, clock: 0, node: m.id, payload: "late" });
  const answers = r.frames();
  const dead = of(answers, "dead");
  assert.deepEqual(
    dead.map((d) => [d.event, d.nodes]),
    [
      [1, [m.id]],
      [2, [m.id]],
    ],
  );
  for (const d of dead) assert.ok(d.lamport > td.lamport, "the proposal is above the destroy's final");
  assert.deepEqual(
    of(answers, "reject").map((f) => [f.event, f.code]),
    [[3, "E_DESTROYED"]],
  );
});

test("a notice in the pick window is held until the pick, then answered dead; its receivers were staged", async () => {
  const p = new Peer({ id: "P" });
  const r = scriptedRemote(p, "R");
  const s = scriptedRemote(p, "S");
  const m = p.createNode();
  p.grant(m, "R");
  const destroyed = p.destroy(m);
  await tick();
  const [stageR] = of(r.frames(), "destroy");
  // Before R answers the destroy, it passes m on to S: P counts S as a holder.
  r.push({ type: "notice", event: 1, clock: 0, nodes: [m.id], receivers: ["S"] });
  assert.deepEqual(
    r.frames().map((f) => f.type),
    ["propose"],
  );
  r.push({ type: "propose", event: stageR?.event, lamport: 2 });
  await tick();
  // Pick start: S, a holder now, is staged; P waits for it and holds what names m meanwhile.
  const [stageS] = of(s.frames(), "destroy");
  assert.ok(stageS, "the destroy is staged at the new holder");
  r.push({ type: "notice", event: 2, clock: 0, nodes: [m.id], receivers: ["S"] });
  assert.deepEqual(r.frames(), [], "held during the pick window");
  s.push({ type: "propose", event: stageS.event, lamport: 3 });
  const td = await destroyed;
  await tick();
  const answers = r.frames();
  const [held] = of(answers, "dead");
  assert.equal(held?.event, 2);
  assert.ok(held && held.lamport > td.lamport);
  assert.equal(of(answers, "commit").length, 1);
  assert.equal(of(s.frames(), "commit").length, 1);
});

test("the sender commits only where the message is taken, and reports E_DESTROYED per destination", async () => {
  const a = new Peer({ id: "A" });
  const p = scriptedRemote(a, "P");
  const remote = a.importHandle({ owner: "P", node: 1, holder: "A" });
  const own = a.createNode();
  const sent = a.send([remote, own.handle], "m");
  await tick();
  const [stage] = of(p.frames(), "stage");
  assert.deepEqual(stage?.receivers, ["P", "A"]);
  p.push({ type: "dead", event: stage?.event, lamport: 40, nodes: [1] });
  const result = await sent;
  assert.ok(result.ts && result.ts.lamport >= 40, "the final is above the owner's dead proposal");
  assert.deepEqual(
    result.destinations.map((d) => [d.node, d.committed, d.code]),
    [
      ["P/1", false, "E_DESTROYED"],
      ["A/1", true, undefined],
    ],
  );
  await tick();
  assert.deepEqual(of(p.frames(), "commit"), [], "no commit where nothing is delivered");
});

test("a peer may give back only the references its own transfer counted", async () => {
  const p = new Peer({ id: "P" });
  const r = scriptedRemote(p, "R");
  const x = scriptedRemote(p, "X");
  const m = p.createNode();
  p.grant(m, "R");
  p.grant(m, "X");
  // X, a holder, tries to drop R's reference: refused.
  x.push({ type: "release", event: 1, clock: 0, node: m.id, count: 1, holder: "R" });
  assert.deepEqual(
    of(x.frames(), "reject").map((f) => f.code),
    ["E_NO_HANDLE"],
  );
  // R's transfer towards S counted a reference for S; R may give that one back, once.
  scriptedRemote(p, "S");
  r.push({ type: "notice", event: 1, clock: 0, nodes: [m.id], receivers: ["S"] });
  r.push({ type: "release", event: 2, clock: 0, node: m.id, count: 1, holder: "S" });
  r.push({ type: "release", event: 3, clock: 0, node: m.id, count: 1, holder: "S" });
  // The accept is held to the end of the turn (spec/ordering.md §14, B7); the reject goes at once.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    r.frames().map((f) => (f.type === "reject" ? f.code : f.type)),
    ["propose", "E_NO_HANDLE", "accept"],
  );
});

test("a release from a peer that holds no reference is refused before it moves the clock or the queue", async () => {
  const p = new Peer({ id: "P", runtime: { ...systemRuntime, wallNow: () => 0 } });
  const x = scriptedRemote(p, "X");
  const m = p.createNode();
  const clock = p.clock;
  // X never held P/1, yet names itself as the holder, with a clock value P would apply.
  x.push({ type: "release", event: 1, clock: 1_000, node: m.id, count: 1, holder: "X" });
  assert.deepEqual(
    x.frames().map((f) => (f.type === "reject" ? `${f.code}:${f.node}` : f.type)),
    [`E_NO_HANDLE:${m.id}`],
  );
  assert.equal(p.clock, clock, "the clock did not move");
  assert.equal(p.stats().queue.depth, 0, "nothing was queued");
  p.abort();
});

test("an accept for a staged round, or a proposal for a fast unicast, closes the link", async () => {
  const a = new Peer({ id: "A" });
  const p = scriptedRemote(a, "P");
  const remote = a.importHandle({ owner: "P", node: 1, holder: "A" });
  void a.send([remote, a.createNode().handle], "round").catch(() => undefined);
  await tick();
  const [stage] = of(p.frames(), "stage");
  p.push({ type: "accept", event: stage?.event, lamport: 3 });
  assert.equal(p.link.closed?.code, "E_PROTOCOL");
});

test("a release ordered before the destroy still gives the owner its released notification", async () => {
  const p = new Peer({ id: "P" });
  const r = scriptedRemote(p, "R");
  const m = p.createNode();
  p.grant(m, "R");
  const destroyed = p.destroy(m);
  await tick();
  const [stage] = of(r.frames(), "destroy");
  // R's release reaches P before R answers the destroy: it is committed below the destroy.
  r.push({ type: "release", event: 1, clock: 0, node: m.id, count: 1, holder: "R" });
  r.push({ type: "propose", event: stage?.event, lamport: 1 });
  await destroyed;
  await tick();
  const kinds: string[] = [];
  for (let e = p.poll(); e; e = p.poll()) kinds.push(e.kind);
  assert.deepEqual(kinds, ["released", "destroyed"]);
});
