/**
 * Before authentication (issue 17, findings 1 and 8; spec/transports.md §3.5, spec/limits.md §4): a
 * stranger's frame is refused by its length before it is decoded, each listener bounds the
 * connections that have not introduced themselves (at once, in time and in bytes, raw TCP
 * included), and link slots held by sessions that dropped do not lock an honest newcomer out.
 * Real sockets on loopback, short timeouts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { mock, test } from "node:test";
import { Identity, type LinkClosedInfo, Peer, PRE_AUTH_FRAME_BYTES, SessionErrorCode } from "@capbus/core";
import { startPeer } from "@capbus/node";
import { ScriptedLink } from "@capbus/sim";
import { listenUnix } from "@capbus/transport-unix";
import { WsLink } from "@capbus/transport-ws";
import { type DecodeResult, FrameCodec, WireError } from "@capbus/wire";
import { WebSocket } from "ws";
import { until } from "./transport-real.js";

/**
 * Count (and refuse to do) decodes of frames longer than a pre-auth frame may be: a decode of
 * one is what finding 1 is about, so a test that sees one fails without paying for it.
 */
function spyLargeDecodes(): { readonly count: () => number; readonly restore: () => void } {
  const original = FrameCodec.prototype.decodeFrame;
  let large = 0;
  const spy = mock.method(
    FrameCodec.prototype,
    "decodeFrame",
    function (this: FrameCodec, bytes: Uint8Array) {
      if (bytes.byteLength <= PRE_AUTH_FRAME_BYTES) return original.call(this, bytes);
      large++;
      return {
        ok: false,
        error: new WireError("E_CBOR", "the spy does not decode large frames"),
      } as DecodeResult;
    },
  );
  return { count: () => large, restore: () => spy.mock.restore() };
}

/** A CBOR array of `bytes - 5` empty maps: cheap to send, ~64x its size once decoded. */
function emptyMaps(bytes: number): Uint8Array {
  const frame = new Uint8Array(bytes).fill(0xa0);
  frame[0] = 0x9a; // array, 4-byte count
  new DataView(frame.buffer).setUint32(1, bytes - 5);
  return frame;
}

/** A ws client of `url`, open. */
async function wsClient(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
  ws.on("error", () => undefined); // a refused or reset connection is what these tests expect
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("close", () => reject(new Error("closed before open")));
  });
  return ws;
}

/** How `ws` was closed by the server: WebSocket code and reason (a capbus code for 4000). */
function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
}

/** A raw TCP connection to the ws listener's port that sends nothing. */
async function rawTcp(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect({ host: "127.0.0.1", port });
  let closed = false;
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, closed: () => closed };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

test("pre-auth: a 16 MiB first frame of empty maps is refused with E_TOO_LARGE before it is decoded", async () => {
  const spy = spyLargeDecodes();
  try {
    const peer = new Peer({ id: "V", identity: undefined });
    const link = new ScriptedLink();
    peer.connect(link);
    link.deliver(emptyMaps(16 * 1024 * 1024));
    assert.equal(link.closed?.code, "E_TOO_LARGE");
    assert.equal(spy.count(), 0, "the frame was never decoded");
    peer.abort();
  } finally {
    spy.restore();
  }
});

test("ws: a 16 MiB pre-auth message is refused with E_TOO_LARGE, undecoded, without stalling the victim", async () => {
  const victim = await startPeer({ logger: undefined });
  const spy = spyLargeDecodes();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  try {
    const ws = await wsClient(victim.endpoints[0]!);
    const closed = closeOf(ws);
    delay.enable();
    ws.send(emptyMaps(16 * 1024 * 1024));
    const { code, reason } = await closed;
    delay.disable();
    assert.deepEqual([code, reason], [4000, "E_TOO_LARGE"]);
    assert.equal(spy.count(), 0, "the message was never decoded");
    // Generous for a shared machine: before, the decode alone took seconds.
    assert.ok(delay.max < 500e6, `the victim's event loop stalled ${(delay.max / 1e6).toFixed(0)} ms`);
  } finally {
    spy.restore();
    await victim.close();
  }
});

test("unix: a length prefix above 4 KiB before the hello ends the connection at the prefix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capbus-preauth-"));
  const peer = new Peer({ id: "V" });
  const listener = await listenUnix(peer, join(dir, "v.sock"));
  try {
    const socket = connect({ path: join(dir, "v.sock") });
    socket.on("error", () => undefined);
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(PRE_AUTH_FRAME_BYTES + 1, 0);
    socket.write(header); // and nothing more: the listener must not wait for the frame
    await until(() => closed, "the listener to end the connection", 2000);
  } finally {
    peer.abort();
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("unix: beyond maxPendingLinks the oldest stranger is told E_LINK_QUOTA in a close frame", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capbus-preauth-"));
  const path = join(dir, "v.sock");
  const peer = new Peer({ id: "V" });
  const listener = await listenUnix(peer, path, { maxPendingLinks: 1 });
  const sockets: Socket[] = [];
  try {
    const open = async () => {
      const socket = connect({ path });
      socket.on("error", () => undefined);
      sockets.push(socket);
      const received: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => received.push(chunk));
      let closed = false;
      socket.on("close", () => {
        closed = true;
      });
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      return { received, closed: () => closed };
    };
    const oldest = await open();
    await new Promise((resolve) => setTimeout(resolve, 50)); // accepted before the next
    const newer = await open();
    await until(oldest.closed, "the oldest stranger to be closed", 2000);
    const bytes = Buffer.concat(oldest.received);
    const frame = new FrameCodec().decodeFrame(bytes.subarray(4, 4 + bytes.readUInt32BE(0)));
    assert.ok(frame.ok && frame.frame.type === "close");
    assert.equal(frame.frame.code, SessionErrorCode.E_LINK_QUOTA);
    assert.equal(newer.closed(), false, "the newcomer keeps its slot");
  } finally {
    for (const socket of sockets) socket.destroy();
    peer.abort();
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ws: a raw TCP connection that never sends a byte is closed after preAuthTimeoutMs", async () => {
  const victim = await startPeer({ preAuth: { preAuthTimeoutMs: 300 } });
  const started = Date.now();
  const raw = await rawTcp(portOf(victim.endpoints[0]!));
  try {
    await until(raw.closed, "the idle connection to be closed", 3000);
    assert.ok(Date.now() - started >= 250, "not before its deadline");
  } finally {
    raw.socket.destroy();
    await victim.close();
  }
});

test("ws: an upgraded connection that sends no hello is closed with E_HANDSHAKE_TIMEOUT after preAuthTimeoutMs", async () => {
  const victim = await startPeer({ preAuth: { preAuthTimeoutMs: 300 } });
  const ws = await wsClient(victim.endpoints[0]!);
  try {
    const closed = await Promise.race([
      closeOf(ws),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000)),
    ]);
    assert.deepEqual(closed, { code: 4000, reason: SessionErrorCode.E_HANDSHAKE_TIMEOUT });
  } finally {
    ws.terminate();
    await victim.close();
  }
});

test("ws: beyond maxPendingLinks the oldest stranger is closed (E_LINK_QUOTA once upgraded); an honest peer links", async () => {
  const victim = await startPeer({ preAuth: { maxPendingLinks: 4 } });
  const honest = await startPeer();
  const strangers: Array<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> = [];
  const raws: Array<{ socket: Socket; closed: () => boolean }> = [];
  try {
    const url = victim.endpoints[0]!;
    // Four upgraded strangers that never say hello, then two raw TCP connections.
    for (let i = 0; i < 4; i++) {
      const ws = await wsClient(url);
      strangers.push({ ws, closed: closeOf(ws) });
    }
    for (let i = 0; i < 2; i++) raws.push(await rawTcp(portOf(url)));
    // The two oldest made room for the raw ones, told why; the deadline (5 s) is far off.
    for (const stranger of strangers.slice(0, 2)) {
      const closed = await Promise.race([
        stranger.closed,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000)),
      ]);
      assert.deepEqual(closed, { code: 4000, reason: SessionErrorCode.E_LINK_QUOTA });
    }
    // An honest peer still gets in (it displaces the oldest stranger left).
    const inbox = victim.peer.createNode();
    const handle = await honest.peer.import(victim.peer.export(inbox));
    assert.ok((await honest.peer.send(handle, "hi")).ok);
    assert.ok(
      raws.every((raw) => !raw.closed()),
      "the raw connections are younger: still open",
    );
  } finally {
    for (const stranger of strangers) stranger.ws.terminate();
    for (const raw of raws) raw.socket.destroy();
    await honest.close();
    await victim.close();
  }
});

/** A keyed peer that links to `victim` over ws and then drops the connection (no close frame). */
async function churn(url: string, victim: Peer): Promise<void> {
  const peer = new Peer({ identity: await Identity.generate() });
  const ws = await wsClient(url);
  peer.connect(new WsLink(ws), victim.id);
  await until(() => victim.linkedPeers.includes(peer.id), "the churner's session at the victim", 5000);
  ws.terminate();
  await until(() => !victim.stats().links[peer.id]?.live, "the victim to see the break", 5000);
  peer.abort();
}

/** A keyed peer's link to `victim` over ws: how it ended, or undefined while it is up. */
async function newcomer(url: string, victim: Peer) {
  const peer = new Peer({ identity: await Identity.generate() });
  const link = new WsLink(await wsClient(url));
  let ended: LinkClosedInfo | undefined;
  void link.done.then((info) => {
    ended = info;
  });
  peer.connect(link, victim.id);
  await until(
    () => ended !== undefined || victim.linkedPeers.includes(peer.id),
    "the newcomer's outcome",
    5000,
  );
  return { peer, link, ended: () => ended };
}

test("links: maxLinks filled by connect-handshake-drop churn does not lock out an honest newcomer", async () => {
  // Four slots besides the victim's own: eight churners, each in its 30 s grace when the next comes.
  const victim = await startPeer({ maxLinks: 5 });
  try {
    const url = victim.endpoints[0]!;
    for (let i = 0; i < 8; i++) await churn(url, victim.peer);
    const honest = await newcomer(url, victim.peer);
    assert.equal(honest.ended(), undefined, `the honest newcomer was refused: ${honest.ended()?.code}`);
    assert.ok(victim.peer.linkedPeers.includes(honest.peer.id));
    assert.ok(victim.peer.linkedPeers.length <= 4, "still at most maxLinks sessions");
    honest.peer.abort();
  } finally {
    await victim.close();
  }
});

test("links: a newcomer refused because every slot is live is told E_LINK_QUOTA", async () => {
  const victim = await startPeer({ maxLinks: 2 });
  try {
    const url = victim.endpoints[0]!;
    const first = await newcomer(url, victim.peer);
    assert.equal(first.ended(), undefined);
    const second = await newcomer(url, victim.peer);
    assert.equal(second.ended()?.code, SessionErrorCode.E_LINK_QUOTA);
    assert.ok(victim.peer.linkedPeers.includes(first.peer.id), "the live session stays");
    first.peer.abort();
    second.peer.abort();
  } finally {
    await victim.close();
  }
});
