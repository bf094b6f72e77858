/**
 * Identity and the handshake over real sockets (spec/transports.md §2-3): keyed peers listen and
 * dial, and a third party that knows the address (and even A's public key) but not A's private
 * key cannot take over A's session with B.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Identity, type LinkClosedInfo, Peer, peerIdFromKey } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { dialUnix, listenUnix, openUnix } from "@capbus/transport-unix";
import { dialWs, listenWs } from "@capbus/transport-ws";
import { type Frame, FrameCodec } from "@capbus/wire";
import { until } from "./transport-real.js";

async function keyedPair() {
  const identity = await Identity.generate();
  const a = new Peer({ identity });
  const b = new Peer({ identity: await Identity.generate() });
  const inbox = b.createNode();
  return { a, b, inbox, identity };
}

async function roundTrip(a: Peer, b: Peer, inbox: ReturnType<Peer["createNode"]>, payload: string) {
  const handle = a.importHandle(b.grant(inbox, a.id));
  const result = await a.send(handle, payload);
  assert.equal(result.ok, true);
  const event = await b.receive();
  assert.equal(event?.kind === "message" && event.payload, payload);
}

test("keyed peers over ws and unix: ids derive from keys, both ends are proven", async () => {
  const { a, b, inbox, identity } = await keyedPair();
  assert.equal(a.id, await peerIdFromKey(identity.publicKey));
  assert.match(a.id, /^[a-z2-7]{52}$/);
  const dir = mkdtempSync(join(tmpdir(), "capbus-auth-"));
  const unix = await listenUnix(b, join(dir, "b.sock"));
  const ws = await listenWs(b);
  try {
    const c = new Peer({ identity: await Identity.generate() });
    const viaUnix = dialUnix(a, unix.address, b.id);
    const viaWs = dialWs(c, ws.url, b.id);
    await Promise.all([viaUnix.ready, viaWs.ready]);
    await roundTrip(a, b, inbox, "over unix");
    await roundTrip(c, b, inbox, "over ws");
    assert.deepEqual(new Set(b.linkedPeers), new Set([a.id, c.id]));
    viaUnix.stop();
    viaWs.stop();
    c.abort();
  } finally {
    a.abort();
    b.abort();
    await unix.close();
    await ws.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a third party with the address but not the key cannot take over a session (E_AUTH)", async () => {
  const { a, b, inbox, identity } = await keyedPair();
  const dir = mkdtempSync(join(tmpdir(), "capbus-auth-"));
  const listener = await listenUnix(b, join(dir, "b.sock"));
  try {
    const dialer = dialUnix(a, listener.address, b.id);
    await dialer.ready;
    await roundTrip(a, b, inbox, "first");
    const mallory = await Identity.generate();
    const attempts = [
      new Uint8Array(0), // no key at all
      mallory.publicKey, // its own key under A's id
      identity.publicKey, // A's public key (public), with a forged signature
    ];
    for (const key of attempts) {
      const codes = await impersonate(listener.address, a.id, key);
      assert.ok(codes.includes("E_AUTH"), `refused with E_AUTH, got ${codes.join(",")}`);
    }
    // The real session was never disturbed.
    await roundTrip(a, b, inbox, "still A's");
    assert.equal(dialer.connections, 1);
    dialer.stop();
  } finally {
    a.abort();
    b.abort();
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a dialled peer whose key does not prove the id dialled is someone else: E_WRONG_PEER, no resume", async () => {
  const a = new Peer({ identity: await Identity.generate(), session: { graceMs: 60_000 } });
  const b = await Identity.generate();
  const mallory = await Identity.generate();
  const link = new ScriptedLink();
  a.connect(link, b.id); // a dials b's address; mallory answers there, naming b with its own key
  const codec = new FrameCodec();
  const hello = { type: "hello", seq: 0, ack: 0, versions: [2], peer: b.id, key: mallory.publicKey };
  link.deliver(codec.encode({ ...hello, nonce: new Uint8Array(16), session: new Uint8Array(0) } as Frame));
  await until(() => link.closed !== undefined, "the dial to close");
  assert.equal(link.closed?.code, "E_WRONG_PEER");
  const sent = link.sent.map((bytes) => codec.decodeFrame(bytes)).filter((r) => r.ok);
  assert.ok(sent.some((r) => r.frame.type === "close" && r.frame.code === "E_WRONG_PEER"));
  // Not a break within the grace: the session the dial was making is over.
  assert.deepEqual(a.linkedPeers, []);
  a.abort();
});

/** Connect to `path`, claim to be `id` with `key`, sign with garbage; the codes that come back. */
async function impersonate(path: string, id: string, key: Uint8Array): Promise<string[]> {
  const link = await openUnix(path);
  const codec = new FrameCodec();
  const codes: string[] = [];
  const closes: LinkClosedInfo[] = [];
  link.attach({
    frame: (bytes) => {
      const r = codec.decodeFrame(bytes);
      if (r.ok && r.frame.type === "close") codes.push(r.frame.code);
    },
    closed: (info) => closes.push(info),
  });
  const nonce = new Uint8Array(16).fill(7);
  const hello = {
    type: "hello",
    seq: 0,
    ack: 0,
    versions: [2],
    peer: id,
    key,
    nonce,
    session: new Uint8Array(0),
  };
  link.send(codec.encode(hello as Frame));
  link.send(codec.encode({ type: "auth", seq: 0, ack: 0, sig: new Uint8Array(64).fill(1) }));
  await until(() => closes.length > 0, "the impostor's link to close");
  return codes;
}
