/**
 * The handshake that opens every link (spec/transports.md §3): both ends send `hello` (id, key,
 * nonce, the session they hold), keyed ends prove their key with `auth` (a signature over both
 * hellos), and then both pick the same outcome: a new session, a resume of the one both named,
 * or E_SESSION_EXPIRED when they named different ones. Frames that arrive while a signature is
 * being checked wait, in order, for the outcome.
 */
import { type AuthFrame, type Frame, FrameCodec, type HelloFrame, WIRE_VERSION } from "@capbus/wire";
import { CapbusError } from "./errors.js";
import { type Identity, peerIdFromKey, verifySignature } from "./identity.js";
import type { Link, LinkClosedInfo, LinkHandler } from "./link.js";
import type { LinkSession, ResolvedSessionOptions } from "./session.js";
import { SessionErrorCode } from "./session-errors.js";

export interface HandshakeContext {
  /** This peer's id. */
  readonly local: string;
  /** This peer's key pair; undefined: unauthenticated (tests, simulations). */
  readonly identity: Identity | undefined;
  /** The session this peer holds with `remote`, if any. */
  find(remote: string): LinkSession | undefined;
  /** A new session with `remote`, registered with the peer. */
  create(remote: string, options: ResolvedSessionOptions): LinkSession;
}

const EMPTY = new Uint8Array(0);
const NONCE_BYTES = 16;

/**
 * Attach `link`: run its handshake, then hand it to the session it belongs to. With `remote`
 * given (this end dialled), sends to that peer queue in its session from now on.
 */
export function connectLink(
  link: Link,
  ctx: HandshakeContext,
  options: ResolvedSessionOptions,
  remote?: string,
): void {
  let session: LinkSession | undefined;
  if (remote !== undefined) {
    const found = ctx.find(remote);
    session = found && !found.closed ? found : ctx.create(remote, options);
    session.bind(link);
  }
  new Handshake(link, ctx, options, remote, session);
}

class Handshake implements LinkHandler {
  readonly #link: Link;
  readonly #ctx: HandshakeContext;
  readonly #options: ResolvedSessionOptions;
  readonly #codec: FrameCodec;
  readonly #nonce = new Uint8Array(NONCE_BYTES);
  /** The session this link was dialled for (breaks before the outcome count against it). */
  readonly #bound: LinkSession | undefined;
  #mine: HelloFrame | undefined;
  #theirs: HelloFrame | undefined;
  #theirAuth: ((auth: AuthFrame) => void) | undefined;
  /** Raw frames that came after the remote's hello and auth, before the outcome. */
  readonly #pending: Uint8Array[] = [];
  #session: LinkSession | undefined;
  #cancelTimer: (() => void) | undefined;
  #failed = false;
  #gone = false;

  constructor(
    link: Link,
    ctx: HandshakeContext,
    options: ResolvedSessionOptions,
    remote: string | undefined,
    bound: LinkSession | undefined,
  ) {
    this.#link = link;
    this.#ctx = ctx;
    this.#options = options;
    this.#bound = bound;
    this.#codec = new FrameCodec(options.limits);
    options.runtime.randomBytes(this.#nonce);
    this.#cancelTimer = options.runtime.setTimer(options.handshakeTimeoutMs, () =>
      this.#fail(
        SessionErrorCode.E_HANDSHAKE_TIMEOUT,
        `no handshake within ${options.handshakeTimeoutMs} ms`,
      ),
    );
    link.attach(this);
    if (remote !== undefined) this.#sendHello(remote);
  }

  frame(bytes: Uint8Array): void {
    if (this.#session) return this.#session.receive(this.#link, bytes);
    if (this.#failed) return;
    // Once the remote's hello is in, the rest waits for the outcome untouched (it may be the
    // resumed session's frames, decoded there).
    if (this.#theirs && (this.#theirs.key.length === 0 || !this.#theirAuth)) {
      this.#pending.push(bytes.slice());
      return;
    }
    const decoded = this.#codec.decodeFrame(bytes);
    if (!decoded.ok) return this.#fail(decoded.error.code, decoded.error.message);
    const frame: Frame = decoded.frame;
    if (frame.type === "close") {
      this.#failed = true;
      this.#link.close(frame.code, frame.reason);
      return;
    }
    if (!this.#theirs) {
      if (frame.type !== "hello") return this.#fail("E_PROTOCOL", `${frame.type} before hello`);
      return this.#onHello(frame);
    }
    if (frame.type !== "auth") return this.#fail("E_PROTOCOL", `${frame.type} before auth`);
    const resolve = this.#theirAuth;
    this.#theirAuth = undefined;
    resolve?.(frame);
  }

  closed(info: LinkClosedInfo): void {
    if (this.#session) return this.#session.linkClosed(this.#link, info);
    this.#gone = true;
    this.#cancelTimer?.();
    this.#bound?.linkClosed(this.#link, info);
  }

  #sendHello(remote: string): void {
    const held = this.#bound ?? this.#ctx.find(remote);
    const session = held && !held.closed && held.id ? held.id : EMPTY;
    this.#mine = {
      type: "hello",
      seq: 0,
      ack: session.length > 0 && held ? held.received : 0,
      versions: [WIRE_VERSION],
      peer: this.#ctx.local,
      key: this.#ctx.identity?.publicKey ?? EMPTY,
      nonce: this.#nonce,
      session,
    };
    this.#link.send(this.#codec.encode(this.#mine));
  }

  #onHello(hello: HelloFrame): void {
    const expected = this.#bound?.remote;
    if (expected !== undefined && hello.peer !== expected) {
      return this.#fail("E_PROTOCOL", `expected peer ${expected}, got ${hello.peer}`);
    }
    if (this.#ctx.identity && hello.key.length === 0) {
      return this.#fail(SessionErrorCode.E_AUTH, "the remote proves no key");
    }
    this.#theirs = hello;
    if (!this.#mine) this.#sendHello(hello.peer);
    const mine = this.#mine!;
    const steps: Promise<void>[] = [];
    const identity = this.#ctx.identity;
    if (identity) {
      steps.push(
        identity.sign(transcript(mine, hello)).then((sig) => {
          if (!this.#gone && !this.#failed)
            this.#link.send(this.#codec.encode({ type: "auth", seq: 0, ack: 0, sig }));
        }),
      );
    }
    if (hello.key.length > 0) {
      const auth = new Promise<AuthFrame>((resolve) => {
        this.#theirAuth = resolve;
      });
      steps.push(
        peerIdFromKey(hello.key).then((id) => {
          if (id !== hello.peer)
            throw new CapbusError("E_PROTOCOL", `peer id ${hello.peer} is not its key's`);
        }),
        auth.then(async (frame) => {
          if (!(await verifySignature(hello.key, transcript(hello, mine), frame.sig))) {
            throw new CapbusError("E_PROTOCOL", "the auth signature does not verify");
          }
        }),
      );
    }
    // Without keys the outcome is immediate, which keeps simulated runs deterministic.
    if (steps.length === 0) return this.#decide();
    Promise.all(steps).then(
      () => this.#decide(),
      (error: unknown) =>
        this.#fail(SessionErrorCode.E_AUTH, error instanceof Error ? error.message : "auth failed"),
    );
  }

  /** Both ends see the same two hellos, so both reach the same outcome. */
  #decide(): void {
    if (this.#failed) return;
    const mine = this.#mine!;
    const theirs = this.#theirs!;
    const held = this.#ctx.find(theirs.peer);
    let session: LinkSession;
    let id: Uint8Array;
    if (mine.session.length === 0 && theirs.session.length === 0) {
      if (held && !held.closed && held.id) {
        return this.#fail("E_PROTOCOL", `already linked to ${theirs.peer}`);
      }
      session = held && !held.closed ? held : this.#ctx.create(theirs.peer, this.#options);
      id = sessionId(mine.nonce, theirs.nonce);
    } else if (sameBytes(mine.session, theirs.session) && held?.id && sameBytes(held.id, mine.session)) {
      session = held;
      id = held.id;
    } else {
      // Final at both ends: whatever session either side named is gone (spec/transports.md §4.3).
      if (held?.id && sameBytes(held.id, mine.session)) held.expire("the remote no longer holds the session");
      return this.#fail(SessionErrorCode.E_SESSION_EXPIRED, "the sessions named do not match");
    }
    if (this.#gone) return;
    this.#cancelTimer?.();
    this.#session = session;
    try {
      session.attach(this.#link, id, theirs.ack, theirs);
    } catch (error) {
      if (error instanceof CapbusError) return session.close(error.code, error.message);
      throw error;
    }
    for (const bytes of this.#pending.splice(0)) session.receive(this.#link, bytes);
  }

  #fail(code: string, reason: string): void {
    if (this.#failed || this.#session) return;
    this.#failed = true;
    this.#cancelTimer?.();
    if (!this.#gone) {
      this.#link.send(this.#codec.encode({ type: "close", seq: 0, ack: 0, code, reason }));
      this.#link.close(code, reason);
    }
  }
}

/** What the signer of `signer` signs: both nonces, both keys, and the session it resumes. */
export function transcript(signer: HelloFrame, other: HelloFrame): Uint8Array {
  const context = new TextEncoder().encode("capbus/1 auth");
  const ack = new Uint8Array(8);
  new DataView(ack.buffer).setBigUint64(0, BigInt(signer.ack));
  const parts = [
    context,
    other.nonce,
    signer.nonce,
    Uint8Array.of(signer.key.length),
    signer.key,
    Uint8Array.of(other.key.length),
    other.key,
    Uint8Array.of(signer.session.length),
    signer.session,
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

/** A new session's id: the two nonces, the smaller first, so both ends compute the same. */
function sessionId(a: Uint8Array, b: Uint8Array): Uint8Array {
  const [first, second] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  const id = new Uint8Array(first.length + second.length);
  id.set(first, 0);
  id.set(second, first.length);
  return id;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}
