/**
 * Capability checks (issue 8): nobody reaches a node without a handle, whatever it puts in its
 * frames. A real peer V against scripted remotes, with random node numbers, secrets and event
 * numbers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CapbusError, Peer, type PeerEvent } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import type { Frame } from "@capbus/wire";
import fc from "fast-check";
import { type ScriptedRemote, scriptedRemote } from "../packages/core/test/support/scripted-remote.js";
import { frozenRuntime } from "./support/fuzz-victim.js";

/** V's wall clock reads 0 ms (frozenRuntime): the H2 limits of spec/ordering.md §2, default offsets. */
const ADOPT_LIMIT = 5_000 * 2 ** 11;
const REFUSE_LIMIT = 35_000 * 2 ** 11;
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const tick = () => new Promise((resolve) => setImmediate(resolve));
const node = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const kinds = fc.constantFrom("stage", "notice", "unicast", "release", "carried") as fc.Arbitrary<
  "stage" | "notice" | "unicast" | "release" | "carried"
>;

/** Answers V sent, as `type` or the reject code. */
const answers = (frames: Frame[]) =>
  frames
    .filter((f) => f.type !== "ack" && f.type !== "endpoints")
    .map((f) => (f.type === "reject" ? f.code : f.type));

function drain(peer: Peer): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (let e = peer.poll(); e; e = peer.poll()) out.push(e);
  return out;
}

const capbusCode = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (e instanceof CapbusError ? e.code : String(e)),
  );

test("a node number never given on the link is refused: E_NO_NODE if V has no such node, else E_NO_HANDLE", () => {
  // Extends peer-input.test.ts ("a stage from a peer that holds no handle...") to every frame kind
  // that names a node, carried handles included, over random node numbers.
  const v = new Peer({ id: "V", runtime: frozenRuntime });
  const owned = new Set([1, 2, 3].map(() => v.createNode().id));
  const r = scriptedRemote(v, "R");
  // R holds V/4 and nothing else: it may stage to V/4, but not name or carry V/1-3.
  const heldNode = v.createNode();
  v.grant(heldNode, "R");
  const held = heldNode.id;
  let event = 0;
  fc.assert(
    fc.property(kinds, node, (kind, n) => {
      fc.pre(n !== held);
      const e = ++event;
      if (kind === "stage") {
        r.push({ type: "stage", event: e, clock: 0, nodes: [n], payload: 0, handles: [], receivers: ["V"] });
      } else if (kind === "notice") {
        r.push({ type: "notice", event: e, clock: 0, nodes: [n], receivers: ["S"] });
      } else if (kind === "unicast") {
        r.push({ type: "unicast", event: e, clock: 0, node: n, payload: 0 });
      } else if (kind === "release") {
        // A release of another holder's references: R's transfers counted none.
        r.push({ type: "release", event: e, clock: 0, node: n, count: 1, holder: "H" });
      } else {
        r.push({
          type: "stage",
          event: e,
          clock: 0,
          nodes: [held],
          payload: 0,
          handles: [{ owner: "V", node: n }],
          receivers: ["V"],
        });
      }
      const expected = owned.has(n) ? "E_NO_HANDLE" : "E_NO_NODE";
      assert.deepEqual(answers(r.frames()), [expected], `${kind} naming V/${n}`);
      assert.equal(r.link.closed, undefined, "a refusal does not close the link");
      assert.deepEqual(drain(v), [], "nothing delivered");
    }),
    { numRuns: 2000, ...seed },
  );
  // And R still may use what it holds.
  r.push({ type: "unicast", event: ++event, clock: 0, node: held, payload: "mine" });
  assert.deepEqual(answers(r.frames()), ["accept"]);
  assert.deepEqual(
    drain(v).map((e) => e.kind === "message" && e.payload),
    ["mine"],
  );
});

test("a send to a node from a non-holder, with a forged grant, is refused by the owner with E_NO_HANDLE", async () => {
  const w = new SimWorld({ seed: 8, latency: { min: 1, max: 3 } });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const secretNode = a.createNode();
  const given = a.createNode();
  const legit = b.importHandle(a.grant(given, "B"));
  // B writes itself a grant A never made: its own peer takes it, the owner does not.
  const forged = b.importHandle({ owner: "A", node: secretNode.id, holder: "B" });
  const settle = async <T>(p: Promise<T>) => {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await w.run({ until: () => done });
    return p;
  };
  const direct = await settle(b.send(forged, "to the secret node"));
  assert.deepEqual(
    direct.destinations.map((d) => [d.node, d.committed, d.code]),
    [["A/1", false, "E_NO_HANDLE"]],
  );
  // Carrying the forged handle on a legitimate send: the owner checks carried handles too.
  const carried = await settle(b.send(legit, "with a forged handle", { handles: [forged] }));
  assert.equal(carried.ok, false);
  assert.equal(carried.destinations[0]?.code, "E_NO_HANDLE");
  // A grant made out to another peer cannot be taken up.
  assert.throws(
    () => b.importHandle({ owner: "A", node: given.id, holder: "C" }),
    (e: unknown) => e instanceof CapbusError && e.code === "E_NO_HANDLE",
  );
  const ok = await settle(b.send(legit, "legit"));
  assert.ok(ok.ok);
  await w.run({ until: () => a.queued > 0 });
  assert.deepEqual(
    drain(a).map((e) => e.kind === "message" && e.payload),
    ["legit"],
    "only the legitimate send is delivered",
  );
  await w.close();
});

/** V with an exported node, the URL and its secret, linked to scripted remotes. */
function exporter<const T extends readonly string[]>(...remotes: T) {
  const v = new Peer({ id: "V", runtime: frozenRuntime });
  const linked = remotes.map((id) => scriptedRemote(v, id));
  v.advertise("sim:V"); // after the hellos: the remotes' first frames are V's hellos
  const n = v.createNode();
  const url = v.export(n);
  const secret = new Uint8Array(Buffer.from(url.split("/").at(-1)!, "base64url"));
  return { v, n, url, secret, linked };
}

test("a guessed export secret is refused with E_NO_EXPORT and gives no handle", () => {
  const { n, secret, linked } = exporter("R");
  const r = linked[0]!;
  let event = 0;
  const nearMiss = fc
    .tuple(fc.nat({ max: secret.length - 1 }), fc.integer({ min: 1, max: 255 }))
    .map(([at, mask]) => secret.map((b, i) => (i === at ? b ^ mask : b)));
  const longer = fc
    .uint8Array({ minLength: 1, maxLength: 48 })
    .map((tail) => new Uint8Array([...secret, ...tail]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 64 }), nearMiss, longer), (guess) => {
      r.push({ type: "claim", event: ++event, secret: guess });
      assert.deepEqual(answers(r.frames()), ["E_NO_EXPORT"]);
      assert.equal(r.link.closed, undefined);
    }),
    { numRuns: 2000, ...seed },
  );
  // No guess gave R a reference: it still cannot send to the node.
  r.push({ type: "unicast", event: ++event, clock: 0, node: n.id, payload: "x" });
  assert.deepEqual(answers(r.frames()), ["E_NO_HANDLE"]);
  // The real secret does.
  r.push({ type: "claim", event: ++event, secret });
  const granted = r.frames().find((f) => f.type === "granted");
  assert.equal(granted?.type === "granted" && granted.node, n.id);
});

test("a revoked secret, presented again, is refused with E_NO_EXPORT; the grant already made stays", () => {
  // The same through capability URLs and `import`: bootstrap.scenarios.test.ts (revoke).
  const { v, n, url, secret, linked } = exporter("R", "S");
  const [r, s] = linked as [ScriptedRemote, ScriptedRemote];
  r.push({ type: "claim", event: 1, secret });
  assert.deepEqual(answers(r.frames()), ["granted"]);
  assert.equal(v.revoke(url), 1);
  r.push({ type: "claim", event: 2, secret }); // the holder replays its claim
  s.push({ type: "claim", event: 1, secret }); // someone else who learnt the URL
  assert.deepEqual(answers(r.frames()), ["E_NO_EXPORT"]);
  assert.deepEqual(answers(s.frames()), ["E_NO_EXPORT"]);
  s.push({ type: "unicast", event: 2, clock: 0, node: n.id, payload: "s" });
  r.push({ type: "unicast", event: 3, clock: 0, node: n.id, payload: "r" });
  assert.deepEqual(answers(s.frames()), ["E_NO_HANDLE"]);
  assert.deepEqual(answers(r.frames()), ["accept"]);
});

test("a granted frame for a claim never made closes the link with E_PROTOCOL and gives no handle", async () => {
  fc.assert(
    fc.property(fc.nat(), node, (event, n) => {
      const v = new Peer({ id: "V", runtime: frozenRuntime });
      const r = scriptedRemote(v, "R");
      r.push({ type: "granted", event, node: n });
      assert.equal(r.link.closed?.code, "E_PROTOCOL");
      assert.deepEqual(answers(r.frames()), ["close"]);
      assert.deepEqual(drain(v), [], "no handle, no event");
    }),
    { numRuns: 200, ...seed },
  );
});

/** V claims a URL of owner O (a scripted remote); returns the pending import and the claim. */
async function claimAtO() {
  const v = new Peer({ id: "V", runtime: frozenRuntime });
  const o = scriptedRemote(v, "O");
  const x = scriptedRemote(v, "X");
  const url = `capbus+sim://O/O/${Buffer.from(new Uint8Array(16).fill(7)).toString("base64url")}`;
  const imported = v.import(url);
  await tick();
  const claim = o.frames().find((f) => f.type === "claim");
  assert.ok(claim?.type === "claim");
  return { v, o, x, imported, claim };
}

test("a granted frame from a third peer does not answer V's claim to the owner", async () => {
  const { o, x, imported, claim } = await claimAtO();
  // X, linked to V, guesses the claim's event number (V's next event) and answers it.
  x.push({ type: "granted", event: claim.event, node: 666 });
  // Expected: X's link closes with E_PROTOCOL (or the frame is ignored) and V still waits for O.
  o.push({ type: "granted", event: claim.event, node: 5 });
  const handle = await imported;
  assert.equal(handle.name, "O/5", "the handle is the owner's grant, not X's");
});

test("a reject from a third peer does not fail V's claim to the owner", async () => {
  const { o, x, imported, claim } = await claimAtO();
  x.push({ type: "reject", event: claim.event, code: "E_NO_EXPORT" });
  o.push({ type: "granted", event: claim.event, node: 5 });
  assert.equal(await capbusCode(imported.then((h) => h.name)), "resolved");
});

test("a unicast repeating an event number already delivered closes the link with E_PROTOCOL", () => {
  const v = new Peer({ id: "V", runtime: frozenRuntime });
  const r = scriptedRemote(v, "R");
  const n = v.createNode();
  v.grant(n, "R");
  r.push({ type: "unicast", event: 1, clock: 0, node: n.id, payload: "once" });
  r.push({ type: "unicast", event: 1, clock: 0, node: n.id, payload: "twice" });
  const events = drain(v)
    .filter((e) => e.kind === "message")
    .map((e) => e.event);
  assert.deepEqual(events, ["R:1"], "one event id is delivered once");
  assert.equal(r.link.closed?.code, "E_PROTOCOL");
});

test("H2 for every frame kind: applied up to the adopt limit, held above it, E_CLOCK_SKEW above the refuse limit", () => {
  // The boundaries per kind; the fuzz (test/fuzz.scripted.test.ts) sends random values past them.
  for (const kind of ["stage", "notice", "unicast", "release", "destroy", "commit"] as const) {
    for (const far of [ADOPT_LIMIT, ADOPT_LIMIT + 1, REFUSE_LIMIT, REFUSE_LIMIT + 1]) {
      const v = new Peer({ id: "V", runtime: frozenRuntime });
      const r = scriptedRemote(v, "R");
      const n = v.createNode();
      v.grant(n, "R");
      if (kind === "commit") {
        r.push({
          type: "stage",
          event: 1,
          clock: 0,
          nodes: [n.id],
          payload: 0,
          handles: [],
          receivers: ["V"],
        });
      }
      // A destroy is clocked only where it names a node held (one V holds nothing of is unheld and
      // never applies its clock, spec/ordering.md §9.1): V holds R's node of the same number.
      if (kind === "destroy") v.importHandle({ owner: "R", node: n.id, holder: "V" });
      r.frames();
      const before = v.clock;
      const frames = {
        stage: {
          type: "stage",
          event: 2,
          clock: far,
          nodes: [n.id],
          payload: 0,
          handles: [],
          receivers: ["V"],
        },
        notice: { type: "notice", event: 2, clock: far, nodes: [n.id], receivers: ["S"] },
        unicast: { type: "unicast", event: 2, clock: far, node: n.id, payload: 0 },
        release: { type: "release", event: 2, clock: far, node: n.id, count: 1, holder: "R" },
        destroy: { type: "destroy", event: 2, clock: far, nodes: [n.id] },
        commit: { type: "commit", event: 1, lamport: far, dead: [] },
      } as const;
      r.push(frames[kind]);
      if (far === ADOPT_LIMIT) {
        assert.equal(r.link.closed, undefined, `${kind} at the adopt limit is accepted`);
        assert.equal(v.clock >= far, true, `${kind}: the clock moved up to it`);
      } else if (far <= REFUSE_LIMIT) {
        assert.equal(r.link.closed, undefined, `${kind} up to the refuse limit keeps the link`);
        assert.equal(v.clock, before, `${kind}: held, nothing applied before its wait`);
        assert.deepEqual(r.frames(), [], `${kind}: held, not answered`);
      } else {
        assert.equal(r.link.closed?.code, "E_CLOCK_SKEW", kind);
        const close = r.frames().at(-1);
        assert.equal(close?.type === "close" && close.code, "E_CLOCK_SKEW");
        assert.ok(v.clock < far, "the clock did not move to it");
      }
      v.abort();
    }
  }
});

test("an answer naming an event number V never used closes the link with E_PROTOCOL", () => {
  const v = new Peer({ id: "V", runtime: frozenRuntime });
  const r = scriptedRemote(v, "R");
  r.push({ type: "propose", event: 123_456, lamport: 1 });
  assert.equal(r.link.closed?.code, "E_PROTOCOL");
});
