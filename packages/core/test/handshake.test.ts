/**
 * The handshake's states and transitions (spec/transports.md §3; packages/core/src/handshake.ts),
 * one test per transition, through the public API: a Peer, `connect` and a scripted far end.
 * Every refusal is a `close` frame with the code, then the link closes (errors.md §1).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Identity, Peer } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import type { TraceRecord } from "@capbus/trace";
import { type Frame, FrameCodec, type HelloFrame } from "@capbus/wire";

const codec = new FrameCodec();
const EMPTY = new Uint8Array(0);
const tick = () => new Promise((resolve) => setImmediate(resolve));

function hello(peer: string, fields: Partial<HelloFrame> = {}): Uint8Array {
  return codec.encode({
    type: "hello",
    seq: 0,
    ack: 0,
    versions: [2],
    peer,
    key: EMPTY,
    nonce: new Uint8Array(16).fill(7),
    session: EMPTY,
    ...fields,
  });
}

/** The frames `link` carried from the peer, decoded. */
function sent(link: ScriptedLink): Frame[] {
  return link.take().map((bytes) => codec.decode(bytes));
}

/** The session id both ends compute: the two nonces, the smaller first (bytewise). */
function sessionIdOf(a: Uint8Array, b: Uint8Array): Uint8Array {
  const aFirst = Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0;
  return Uint8Array.from([...(aFirst ? a : b), ...(aFirst ? b : a)]);
}

/** The last frame is a close with `code`, and the link is closed. */
function refused(frames: Frame[], link: ScriptedLink, code: string): void {
  const last = frames.at(-1);
  assert.equal(last?.type, "close", `a close frame, got ${frames.map((f) => f.type).join(",")}`);
  assert.equal(last.type === "close" && last.code, code);
  assert.equal(link.closed?.code, code);
}

/** An accepted link: the remote "R" says hello for a new session; returns the session id. */
function linkUp(peer: Peer, link: ScriptedLink, nonce = new Uint8Array(16).fill(7)): Uint8Array {
  peer.connect(link);
  link.deliver(hello("R", { nonce }));
  const [mine] = sent(link);
  assert.equal(mine?.type, "hello");
  return sessionIdOf(nonce, mine.type === "hello" ? mine.nonce : EMPTY);
}

test("hello -> attached: a new session; frames behind the hello reach the session", async () => {
  const peer = new Peer({ id: "P" });
  const node = peer.createNode();
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(hello("R"));
  peer.grant(node, "R");
  link.deliver(
    codec.encode({ type: "unicast", seq: 1, ack: 0, event: 1, clock: 1, node: node.id, payload: "x" }),
  );
  await tick();
  assert.deepEqual(
    sent(link).map((f) => f.type),
    ["hello", "accept"],
  );
  assert.deepEqual(peer.linkedPeers, ["R"]);
  peer.abort();
});

test("hello -> refused: a frame before the hello is E_PROTOCOL", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(codec.encode({ type: "ack", seq: 0, ack: 0 }));
  refused(sent(link), link, "E_PROTOCOL");
  peer.abort();
});

test("hello -> refused: no version in common is E_VERSION; garbage is its wire code", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link);
  // [0,0,0,[1],"R",h'',h'00..',h''] : a version-1-only hello (the encoder refuses to write one)
  link.deliver(Buffer.from(`88000000810161524050${"00".repeat(16)}40`, "hex"));
  refused(sent(link), link, "E_VERSION");
  const other = new ScriptedLink();
  peer.connect(other);
  other.deliver(Uint8Array.of(0xff));
  refused(sent(other), other, "E_CBOR");
  peer.abort();
});

test("hello -> refused: a keyed peer meets an unkeyed hello (E_AUTH)", async () => {
  const peer = new Peer({ identity: await Identity.generate() });
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(hello("R"));
  refused(sent(link), link, "E_AUTH");
  peer.abort();
});

test("hello -> refused: a hello too long before the introduction is E_TOO_LARGE, undecoded", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(new Uint8Array(5000));
  refused(sent(link), link, "E_TOO_LARGE");
  peer.abort();
});

test("hello -> refused by the remote: its close ends the link, nothing is sent back", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link, "R");
  assert.deepEqual(
    sent(link).map((f) => f.type),
    ["hello"],
  );
  link.deliver(codec.encode({ type: "close", seq: 0, ack: 0, code: "E_LINK_QUOTA", reason: "full" }));
  assert.deepEqual(sent(link), []);
  assert.equal(link.closed?.code, "E_LINK_QUOTA");
  peer.abort();
});

test("auth -> refused: a keyed remote's frame other than auth is E_PROTOCOL", async () => {
  const peer = new Peer({ id: "P" });
  const remote = await Identity.generate();
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(hello(remote.id, { key: remote.publicKey }));
  link.deliver(codec.encode({ type: "ack", seq: 0, ack: 0 }));
  refused(sent(link), link, "E_PROTOCOL");
  peer.abort();
});

test("auth -> proving -> refused: an auth that does not verify is E_AUTH", async () => {
  const peer = new Peer({ id: "P" });
  const remote = await Identity.generate();
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(hello(remote.id, { key: remote.publicKey }));
  link.deliver(codec.encode({ type: "auth", seq: 0, ack: 0, sig: new Uint8Array(64) }));
  await until(() => link.closed !== undefined);
  refused(sent(link), link, "E_AUTH");
  peer.abort();
});

test("proving -> attached: a resume continues the session on the new link", () => {
  const peer = new Peer({ id: "P", session: { graceMs: 60_000 } });
  const first = new ScriptedLink();
  const id = linkUp(peer, first);
  first.remoteClose("E_LINK_BROKEN", "cut");
  const second = new ScriptedLink();
  peer.connect(second);
  second.deliver(hello("R", { session: id }));
  const frames = sent(second);
  assert.equal(frames[0]?.type === "hello" && Buffer.from(frames[0].session).equals(Buffer.from(id)), true);
  assert.equal(second.closed, undefined);
  assert.deepEqual(peer.linkedPeers, ["R"]);
  peer.abort();
});

test("proving -> refused: a resume whose ack is above every seq sent is close E_PROTOCOL", () => {
  const peer = new Peer({ id: "P", session: { graceMs: 60_000 } });
  const first = new ScriptedLink();
  const id = linkUp(peer, first);
  first.remoteClose("E_LINK_BROKEN", "cut");
  const second = new ScriptedLink();
  peer.connect(second);
  second.deliver(hello("R", { session: id, ack: 5 }));
  const frames = sent(second);
  assert.equal(frames[0]?.type, "hello");
  refused(frames, second, "E_PROTOCOL");
  // The session is over (errors.md §1): a new hello starts a new one.
  assert.deepEqual(peer.linkedPeers, []);
  peer.abort();
});

test("proving -> refused: a resume naming a session this end does not hold is E_SESSION_EXPIRED", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link);
  link.deliver(hello("R", { session: new Uint8Array(32).fill(1) }));
  refused(sent(link), link, "E_SESSION_EXPIRED");
  peer.abort();
});

test("proving -> refused: a hello naming no session at the larger peer, which holds one, expires it", () => {
  // "Z" > "R": no crossing to wait for (§3.3's exception is the smaller peer's), so R restarted.
  const peer = new Peer({ id: "Z" });
  linkUp(peer, new ScriptedLink());
  const again = new ScriptedLink();
  peer.connect(again);
  again.deliver(hello("R"));
  refused(sent(again), again, "E_SESSION_EXPIRED");
  assert.deepEqual(peer.linkedPeers, []);
  peer.abort();
});

test("proving -> verdict -> refused: the smaller peer waits for the remote's answer to an empty hello", () => {
  // "A" < "R": an empty hello from R may be R's dial that lost a crossing (§3.3's exception).
  for (const [answer, expired] of [
    ["E_SESSION_EXPIRED", true],
    ["E_CROSSED", false],
  ] as const) {
    const peer = new Peer({ id: "A", session: { graceMs: 60_000 } });
    const first = new ScriptedLink();
    peer.connect(first);
    first.deliver(hello("R"));
    first.take();
    first.remoteClose("E_LINK_BROKEN", "cut");
    const late = new ScriptedLink();
    peer.connect(late);
    late.deliver(hello("R"));
    assert.deepEqual(
      sent(late).map((f) => f.type),
      ["hello"],
    );
    assert.equal(late.closed, undefined, "waits for the remote's answer");
    late.deliver(codec.encode({ type: "close", seq: 0, ack: 0, code: answer, reason: "" }));
    assert.deepEqual(sent(late), [], "nothing after the remote's close");
    assert.equal(closedCode(late), answer);
    assert.deepEqual(peer.linkedPeers, expired ? [] : ["R"]);
    peer.abort();
  }
});

test("verdict -> refused: any frame but a close while waiting for the verdict is E_PROTOCOL", () => {
  const peer = new Peer({ id: "A", session: { graceMs: 60_000 } });
  const first = new ScriptedLink();
  peer.connect(first);
  first.deliver(hello("R"));
  first.remoteClose("E_LINK_BROKEN", "cut");
  const late = new ScriptedLink();
  peer.connect(late);
  late.deliver(hello("R"));
  late.take();
  late.deliver(codec.encode({ type: "ack", seq: 0, ack: 0 }));
  refused(sent(late), late, "E_PROTOCOL");
  peer.abort();
});

test("any -> gone: a dial whose link ends before the outcome is a break of its session", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  peer.connect(link, "R");
  link.remoteClose("E_LINK_BROKEN", "cut");
  assert.deepEqual(peer.linkedPeers, []);
  // The session ended with the link (grace 0): a new dial starts afresh, not crossed.
  const again = new ScriptedLink();
  peer.connect(again, "R");
  assert.equal(again.closed, undefined);
  peer.abort();
});

test("hello -> refused: no outcome within handshakeTimeoutMs is E_HANDSHAKE_TIMEOUT", async () => {
  const peer = new Peer({ id: "P", session: { handshakeTimeoutMs: 20 } });
  const link = new ScriptedLink();
  peer.connect(link);
  await until(() => link.closed !== undefined);
  refused(sent(link), link, "E_HANDSHAKE_TIMEOUT");
  peer.abort();
});

test("an unexpected exception in the decision is close E_INTERNAL, not an unhandled rejection", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    // A trace sink that fails (a full disk) as the session comes up, inside the handshake's decision.
    const failing = {
      write(record: TraceRecord) {
        if (record.op === "link") throw new Error("disk full");
      },
    };
    const peer = new Peer({ identity: await Identity.generate(), trace: failing });
    const remote = await Identity.generate();
    const far = new KeyedRemote(remote);
    peer.connect(far.link);
    await far.handshake();
    await until(() => far.link.closed !== undefined);
    refused(sent(far.link), far.link, "E_INTERNAL");
    await tick();
    assert.deepEqual(unhandled, []);
    peer.abort();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("attached: the link is the session's, the handshake is out of its path", () => {
  const peer = new Peer({ id: "P" });
  const link = new ScriptedLink();
  linkUp(peer, link);
  // After the outcome a hello is the session's business (E_PROTOCOL, errors.md §3.1).
  link.deliver(hello("R"));
  refused(sent(link), link, "E_PROTOCOL");
  peer.abort();
});

/** A keyed far end written out by hand: its hello, then its auth over the transcript. */
class KeyedRemote {
  readonly link = new ScriptedLink();
  readonly #identity: Identity;

  constructor(identity: Identity) {
    this.#identity = identity;
  }

  async handshake(): Promise<void> {
    const mine: HelloFrame = {
      type: "hello",
      seq: 0,
      ack: 0,
      versions: [2],
      peer: this.#identity.id,
      key: this.#identity.publicKey,
      nonce: new Uint8Array(16).fill(9),
      session: EMPTY,
    };
    this.link.deliver(codec.encode(mine));
    const theirs = sent(this.link)[0];
    assert.equal(theirs?.type, "hello");
    if (theirs.type !== "hello") return;
    const sig = await this.#identity.sign(transcript(mine, theirs));
    this.link.deliver(codec.encode({ type: "auth", seq: 0, ack: 0, sig }));
  }
}

/** spec/transports.md §3.2, written from the spec. */
function transcript(own: HelloFrame, other: HelloFrame): Uint8Array {
  const ack = Buffer.alloc(8);
  ack.writeBigUInt64BE(BigInt(own.ack));
  return Buffer.concat([
    Buffer.from("capbus/1 auth"),
    other.nonce,
    own.nonce,
    Uint8Array.of(own.key.length),
    own.key,
    Uint8Array.of(other.key.length),
    other.key,
    Uint8Array.of(own.session.length),
    own.session,
    ack,
  ]);
}

/** How `link` closed (read through a call: assertions above narrow the field). */
function closedCode(link: ScriptedLink): string | undefined {
  return link.closed?.code;
}

async function until(done: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
