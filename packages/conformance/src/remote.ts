/**
 * A peer the kit plays: its own key pair (or none), one connection to the peer under test, the
 * handshake written from spec/transports.md §3 (not the reference implementation's), and the
 * session numbering of spec/transports.md §4.1, so the kit can say exactly which frames it sends.
 */
import { Identity } from "@capbus/core";
import { type Frame, FrameCodec, type HelloFrame } from "@capbus/wire";
import { Conn, type Received } from "./conn.js";

const EMPTY = new Uint8Array(0);
const codec = new FrameCodec();

/** A frame the kit writes, without `seq` and `ack` (the remote fills them in). */
export type Body = Frame extends infer F ? (F extends unknown ? Omit<F, "seq" | "ack"> : never) : never;

/** Why a step of the kit failed: becomes the FAIL line's reason. */
export class CheckFailure extends Error {
  override readonly name = "CheckFailure";
}

/** What the peer under test told about itself in its hello. */
export interface Target {
  readonly endpoint: string;
  /** The test node's number (learnt by a first claim) and the secret of its capability URL. */
  node: number;
  readonly secret: Uint8Array;
  /** The peer's id (from the capability URL; checked against its hello). */
  readonly id: string;
  /** Does its hello carry a key? Learnt at the first handshake. */
  keyed: boolean;
  /** How long to wait for an answer. */
  readonly answerMs: number;
  /** The peer's wall clock minus the kit's, by its last hello's `time` (0 without). */
  skewMs: number;
}

export interface HandshakeOptions {
  readonly session?: Uint8Array;
  readonly ack?: number;
  /** Fields of the hello to replace (a bad version, a wrong id, a time far ahead ...). */
  readonly hello?: Partial<HelloFrame>;
  /** Send this instead of a valid signature. */
  readonly sig?: Uint8Array;
}

export class Remote {
  readonly identity: Identity | undefined;
  readonly id: string;
  #conn: Conn | undefined;
  /** The session id agreed in the first handshake. */
  session: Uint8Array = EMPTY;
  /** The peer under test's hello on the last handshake. */
  theirs: HelloFrame | undefined;
  #seq = 0;
  /** Highest seq received in order from the peer under test. */
  received = 0;
  /** Frames sent, by seq, for resending after a resume. */
  readonly sent = new Map<number, Uint8Array>();
  #event = 0;
  readonly #target: Target;

  private constructor(target: Target, identity: Identity | undefined, id: string) {
    this.#target = target;
    this.identity = identity;
    this.id = id;
  }

  /** A new played peer: keyed (a fresh key pair) unless `unkeyedId` is given. */
  static async create(target: Target, unkeyedId?: string): Promise<Remote> {
    if (unkeyedId !== undefined) return new Remote(target, undefined, unkeyedId);
    const identity = await Identity.generate();
    return new Remote(target, identity, identity.id);
  }

  /** The connection of the last `open` (or handshake). */
  get conn(): Conn {
    if (this.#conn === undefined) throw new CheckFailure("not connected");
    return this.#conn;
  }

  /** The peer under test's test node. */
  get node(): number {
    return this.#target.node;
  }

  /** Open a connection (not handshaken). */
  async open(): Promise<Conn> {
    this.#conn = await Conn.open(this.#target.endpoint);
    return this.#conn;
  }

  /**
   * Done with this played peer: a clean `close` (OK), so the peer under test ends the session at
   * once rather than keeping it, and this peer's references, for its grace.
   */
  end(): void {
    const conn = this.#conn;
    if (conn === undefined || conn.ended) return;
    conn.sendFrame({
      type: "close",
      seq: 0,
      ack: this.received,
      code: "OK",
      reason: "conformance kit: check done",
    });
    conn.destroy();
  }

  /** Break the connection (no close frame): a pulled cable. */
  cut(): void {
    this.#conn?.destroy();
  }

  /**
   * A clock value (spec/ordering.md §2) at the peer's wall clock now: Unix ms × 2^11 by the time
   * its hello gave, plus `plus`.
   */
  clock(plus = 0): number {
    return (Date.now() + this.#target.skewMs) * 2048 + plus;
  }

  /** The next event number of this played peer (one counter for all its events, spec/ordering.md §1). */
  nextEvent(): number {
    return ++this.#event;
  }

  /**
   * The kit's hello (it dialled: it speaks first), the peer's hello, then the auths (spec/transports.md §3.2).
   * Resolves once both are in; the peer's own verdict follows (a close, or nothing).
   */
  async handshake(options: HandshakeOptions = {}): Promise<HelloFrame> {
    await this.open();
    const mine: HelloFrame = {
      type: "hello",
      seq: 0,
      ack: options.ack ?? 0,
      versions: [2],
      peer: this.id,
      key: this.identity?.publicKey ?? EMPTY,
      nonce: crypto.getRandomValues(new Uint8Array(16)),
      session: options.session ?? EMPTY,
      time: Date.now(),
      ...options.hello,
    };
    this.conn.sendFrame(mine);
    const theirs = await this.expectFrame("hello");
    if (theirs.type !== "hello") throw new CheckFailure("unreachable");
    this.theirs = theirs;
    if (theirs.peer !== this.#target.id) {
      throw new CheckFailure(`its hello names ${theirs.peer}, its capability URL ${this.#target.id}`);
    }
    this.#target.keyed = theirs.key.length > 0;
    if (theirs.time !== undefined) this.#target.skewMs = theirs.time - Date.now();
    if (this.identity) {
      const sig = options.sig ?? (await this.identity.sign(transcript(mine, theirs)));
      this.conn.sendFrame({ type: "auth", seq: 0, ack: 0, sig });
    }
    if (theirs.key.length > 0) {
      const auth = await this.expectFrame("auth");
      if (auth.type === "auth" && !(await verify(theirs.key, transcript(theirs, mine), auth.sig)))
        throw new CheckFailure("its auth does not verify over the transcript of spec/transports.md §3.2");
    }
    if (mine.session.length === 0 && theirs.session.length === 0)
      this.session = sessionId(mine.nonce, theirs.nonce);
    return theirs;
  }

  /** A new session and a claim of the test node: this played peer then holds one reference. */
  async holding(): Promise<void> {
    await this.handshake();
    await this.claim();
  }

  /** Claim the test node with its URL's secret; resolves with the `granted` frame's node. */
  async claim(secret = this.#target.secret, event = this.nextEvent()): Promise<Frame> {
    this.send({ type: "claim", event, secret });
    const answer = await this.expectFrame(secret === this.#target.secret ? "granted" : "reject");
    if (answer.type === "granted" && answer.node !== this.#target.node)
      throw new CheckFailure(`granted node ${answer.node}, the capability URL names ${this.#target.node}`);
    return answer;
  }

  /** Send a sequenced frame with the next seq (or an unsequenced one with seq 0). */
  send(body: Body, seq?: number): number {
    const unsequenced =
      body.type === "ack" || body.type === "close" || body.type === "hello" || body.type === "auth";
    const number = unsequenced ? 0 : (seq ?? this.#seq + 1);
    if (!unsequenced && seq === undefined) this.#seq = number;
    const bytes = codec.encode({
      ...body,
      seq: number,
      ack: body.type === "auth" ? 0 : this.received,
    } as Frame);
    if (number > 0) this.sent.set(number, bytes);
    this.conn.send(bytes);
    return number;
  }

  /** The next frame (acks skipped), which must be of `type`; its seq is taken as received. */
  async expectFrame(type: Frame["type"]): Promise<Frame> {
    const got = await this.conn.next(this.#target.answerMs);
    if (got.kind !== "frame" || got.frame.type !== type) {
      this.conn.putBack(got); // for the next expectation (a close the check expects, say)
      throw new CheckFailure(`expected ${type}, got ${describe(got)}`);
    }
    if (got.frame.seq > this.received) this.received = got.frame.seq;
    return got.frame;
  }

  /**
   * The peer refuses: a `close` frame with `code` (spec/errors.md §1), or the end of the connection
   * when `endOk` (a stream dropped at its length prefix, spec/transports.md §3.5). A ws close 4000
   * carrying the code without the frame is not a close.
   */
  async expectClose(code: string, endOk = false): Promise<void> {
    const got = await this.conn.next(this.#target.answerMs);
    if (got.kind === "frame" && got.frame.type === "close") {
      if (got.frame.code !== code) throw new CheckFailure(`closed with ${got.frame.code}, expected ${code}`);
      return this.expectEnd();
    }
    if (got.kind === "end" && endOk) return;
    throw new CheckFailure(`expected close ${code}, got ${describe(got)}`);
  }

  /** The connection ends soon (after a close frame, the peer closes the transport). */
  async expectEnd(): Promise<void> {
    const got = await this.conn.next(this.#target.answerMs, true);
    if (got.kind === "end") return;
    throw new CheckFailure(`expected the connection to end, got ${describe(got)}`);
  }
}

/** A received item for a FAIL line. */
export function describe(got: Received): string {
  switch (got.kind) {
    case "frame":
      return got.frame.type === "close" ? `close ${got.frame.code}` : `${got.frame.type} frame`;
    case "garbage":
      return `a frame it should not send (${got.code})`;
    case "end":
      return got.code
        ? `the connection ended (${got.code}, no close frame)`
        : "the connection ended, no close frame";
    case "timeout":
      return "nothing (timed out)";
  }
}

/** spec/transports.md §3.2: what the signer of `own` signs. */
export function transcript(own: HelloFrame, other: HelloFrame): Uint8Array {
  const ack = new Uint8Array(8);
  new DataView(ack.buffer).setBigUint64(0, BigInt(own.ack));
  const parts = [
    new TextEncoder().encode("capbus/1 auth"),
    other.nonce,
    own.nonce,
    Uint8Array.of(own.key.length),
    own.key,
    Uint8Array.of(other.key.length),
    other.key,
    Uint8Array.of(own.session.length),
    own.session,
    ack,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function verify(key: Uint8Array, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const { verifySignature } = await import("@capbus/core");
  return verifySignature(key, data, sig);
}

/** spec/transports.md §3.3: the two nonces, the smaller first (bytewise). */
export function sessionId(a: Uint8Array, b: Uint8Array): Uint8Array {
  const [first, second] = compare(a, b) <= 0 ? [a, b] : [b, a];
  const id = new Uint8Array(32);
  id.set(first, 0);
  id.set(second, 16);
  return id;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
