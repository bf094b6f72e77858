/**
 * Timeouts that fit together (spec/limits.md §3.1): the core's defaults keep a healthy holder
 * from cutting an owner that waits for a holder never linked, and option sets that break a rule
 * are refused with E_OPTIONS.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { Peer, type PeerEvent } from "@capbus/core";
import { startPeer } from "@capbus/node";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { listenWs } from "@capbus/transport-ws";

function drain(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

test("core defaults: a holder with the staged destroy outlasts the owner's wait for a holder that never links", async () => {
  const traces = new MemoryTraceSink();
  // Dials to O never answer: X, handed a handle of O's node, never links to O.
  const w = new SimWorld({
    seed: 21,
    latency: { min: 5, max: 5 },
    dial: true,
    unreachable: new Set(["O"]),
    // X's unreachable notification is local (bootstrap.md D5): X records `expire` of O with it.
    traceFor: () => traces,
  });
  const [o, h, s, x] = ["O", "H", "S", "X"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer, Peer];
  w.link("O", "H");
  w.link("O", "S");
  w.link("S", "X");
  const node = o.createNode();
  w.give(node, "H");
  const atS = w.give(node, "S");
  const toX = w.give(x.createNode(), "S");
  await w.run({ maxTime: 1_000 });
  // O counts X as a holder when it answers the transfer's notice; X's dial to O never completes.
  const passed = s.send(toX, "O's node", { handles: [atS] });
  let done = false;
  const destroyed = passed
    .then(() => o.destroy(node))
    .finally(() => {
      done = true;
    });
  await w.run({ until: () => done });
  await destroyed;
  await w.run();
  // H had the destroy staged all the while O waited (dialTimeoutMs) for X: it must not have cut O.
  assert.equal(h.stats().stageTimeouts, 0);
  assert.ok(h.linkedPeers.includes("O"), "H's session with O is still up");
  assert.deepEqual(
    drain(h).map((e) => (e.kind === "destroyed" ? `destroyed:${e.handle.name}:${e.reason}` : e.kind)),
    ["destroyed:O/1:destroyed"],
  );
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

const refused = { name: "CapbusError", code: "E_OPTIONS" };

test("timeouts: defaults derive from the rules, what is left out is derived to fit what is given", () => {
  assert.deepEqual(new Peer().timeouts, {
    dialTimeoutMs: 10_000,
    // T2: 1.25 × (max(10 s dial, 60 s answer) + 48 s pick window)
    stageTimeoutMs: 135_000,
    handshakeTimeoutMs: 10_000,
    answerTimeoutMs: 60_000, // T6: 15 s dead link + 30 s grace + 15 s
    stallMs: 5_000, // T7
    deadAfterMs: 15_000,
    graceMs: 30_000,
    clockAdoptMs: 5_000,
    clockRefuseMs: 35_000, // 5 s + a 30 s margin, within half the stage and answer timeouts (T8)
  });
  // Only a short stage timeout, on links that cannot resume: the answer and dial timeouts shrink
  // to fit it (T2: max(dial, answer) + 0.8 × answer ≤ stage / 1.25), the stall threshold too.
  const sim = new Peer({ stageTimeoutMs: 2_000, linkTimeouts: { deadAfterMs: 0, graceMs: 0 } }).timeouts;
  assert.equal(sim.answerTimeoutMs, 888);
  assert.equal(sim.dialTimeoutMs, 890);
  assert.equal(sim.handshakeTimeoutMs, 890); // T1
  assert.equal(sim.stallMs, 500);
  // Links that cannot resume, nothing else given: the answer timeout is the margin alone.
  const quick = new Peer({ linkTimeouts: { deadAfterMs: 0, graceMs: 0 } }).timeouts;
  assert.equal(quick.answerTimeoutMs, 15_000);
  assert.equal(quick.stageTimeoutMs, 42_000); // 15 s + 12 s pick window + 15 s
  // A short dial timeout: the handshake fits inside it (T1); the answer timeout still rules T2.
  const dial = new Peer({ dialTimeoutMs: 100 }).timeouts;
  assert.equal(dial.handshakeTimeoutMs, 100);
  assert.equal(dial.stageTimeoutMs, 135_000);
  // A longer grace of connect's sessions counts too: answer 1.25 × 75 s (T6), stage 1.25 × (93.75 + 75) s.
  const long = new Peer({ session: { graceMs: 60_000 } }).timeouts;
  assert.equal(long.answerTimeoutMs, 93_750);
  assert.equal(long.stageTimeoutMs, 210_938);
  assert.equal(sim.clockRefuseMs, 5_000 + 444); // the clock margin shrinks to half the answer timeout (T8)
});

test("timeouts: option sets that break a rule are refused with E_OPTIONS", async () => {
  // The set: a stage timeout no longer than the dial timeout (T2).
  assert.throws(() => new Peer({ dialTimeoutMs: 10_000, stageTimeoutMs: 10_000 }), refused);
  // Shorter than the links' dead time + grace (T2), as the core's old 10 s default was.
  assert.throws(() => new Peer({ stageTimeoutMs: 10_000 }), refused);
  assert.throws(
    () => new Peer({ stageTimeoutMs: 40_000, linkTimeouts: { deadAfterMs: 5_000, graceMs: 30_000 } }),
    refused,
  );
  // A handshake that would outlive the dial giving up on it (T1).
  assert.throws(() => new Peer({ dialTimeoutMs: 5_000, session: { handshakeTimeoutMs: 8_000 } }), refused);
  assert.throws(() => new Peer({ dialTimeoutMs: -1 }), refused);
  assert.throws(() => new Peer({ stageTimeoutMs: Number.NaN }), refused);
  // An answer timeout that would close a session the grace keeps for a resume (T6).
  assert.throws(() => new Peer({ answerTimeoutMs: 50_000 }), refused);
  assert.throws(
    () => new Peer({ answerTimeoutMs: 0, linkTimeouts: { deadAfterMs: 0, graceMs: 0 } }),
    refused,
  );
  // A stage timeout that a sender waiting out its answer timeout would outlast (T2).
  assert.throws(() => new Peer({ answerTimeoutMs: 100_000, stageTimeoutMs: 135_000 }), refused);
  // A stall threshold of 0 (every staged entry a stall), or past the stage timeout (T7).
  assert.throws(() => new Peer({ stallMs: 0 }), refused);
  assert.throws(() => new Peer({ stallMs: 135_000 }), refused);
  // T8: no margin between the clock offsets, or a margin (a frame's longest hold) over half the
  // stage or the answer timeout.
  assert.throws(() => new Peer({ clockAdoptMs: 5_000, clockRefuseMs: 5_000 }), refused);
  assert.throws(() => new Peer({ clockRefuseMs: 5_000 + 30_001 }), refused); // answer 60 s
  assert.throws(
    () => new Peer({ answerTimeoutMs: 100_000, clockAdoptMs: 1_000, clockRefuseMs: 52_000 }),
    refused,
  );
  assert.equal(new Peer({ clockAdoptMs: 1_000 }).timeouts.clockRefuseMs, 31_000);
  // Heartbeats too slow for the dead-link time (T3), at startPeer.
  await assert.rejects(startPeer({ liveness: { heartbeatMs: 10_000, deadAfterMs: 15_000 } }), refused);
  await assert.rejects(startPeer({ stageTimeoutMs: 30_000 }), refused);
  // A transport whose links outlast the peer's stage timeout (T2), at listen.
  const peer = new Peer();
  await assert.rejects(listenWs(peer, { session: { graceMs: 120_000 } }), refused);
  peer.abort();
});
