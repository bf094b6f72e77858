/**
 * The handshake that opens every link (spec/transports.md §3): both ends send `hello` (id, key,
 * nonce, the session they hold), keyed ends prove their key with `auth` (a signature over both
 * hellos), and then both pick the same outcome: a new session, a resume of the one both named,
 * or E_SESSION_EXPIRED when they named different ones. Frames that arrive while a signature is
 * being checked wait, in order, for the outcome. Two peers that dial each other at once keep the
 * link dialled by the smaller peer id (spec/transports.md §3.4), so both ends settle on the same link.
 */
import { type AuthFrame, type Frame, FrameCodec, type HelloFrame, WIRE_VERSION } from "@capbus/wire";
import { CapbusError } from "./errors.js";
import { type Identity, peerIdFromKey, verifySignature } from "./identity.js";
import type { Link, LinkClosedInfo, LinkHandler } from "./link.js";
import type { Logger } from "./observe.js";
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
  /** This peer's handshakes under way. */
  readonly running: RunningHandshakes;
  /** Where handshake failures are reported (PeerOptions.logger). */
  readonly log: Logger;
  /**
   * This peer's wall clock (Unix ms), sent in its hello, and the most a remote's hello may differ
   * from it (spec/ordering.md §2: the clock-sync assumption); undefined: no time sent or checked.
   */
  readonly clock?: { now(): number; readonly maxSkewMs: number } | undefined;
}

/** Handshakes under way by the remote peer they are with: what settles crossed dials. */
export class RunningHandshakes {
  readonly #byRemote = new Map<string, Set<Handshake>>();

  /** Is a handshake with `remote` under way (dialled, or accepted and past the remote's hello)? */
  has(remote: string): boolean {
    return this.#byRemote.has(remote);
  }

  /** @internal */
  add(remote: string, handshake: Handshake): void {
    const set = this.#byRemote.get(remote) ?? new Set();
    set.add(handshake);
    this.#byRemote.set(remote, set);
  }

  /** @internal */
  delete(remote: string, handshake: Handshake): void {
    const set = this.#byRemote.get(remote);
    if (!set?.delete(handshake)) return;
    if (set.size === 0) this.#byRemote.delete(remote);
  }

  /** @internal */
  of(remote: string): Handshake[] {
    return [...(this.#byRemote.get(remote) ?? [])];
  }
}

const EMPTY = new Uint8Array(0);
const NONCE_BYTES = 16;

/**
 * Longest frame a link takes before the remote has introduced itself (its hello, and its auth
 * when keyed): a hello, an auth or a close is a few hundred bytes. A longer one closes the link
 * with E_TOO_LARGE before a byte of it is decoded (spec/transports.md §3.5), so a stranger's
 * frame costs a length check, not a decode.
 */
export const PRE_AUTH_FRAME_BYTES = 4096;

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
    // A dial that started while the remote's own link was already being handshaken (its hello
    // is in): that link goes on, this one is redundant.
    if (ctx.running.has(remote)) {
      ctx.log.debug?.("dial dropped: crossed", { remote, code: SessionErrorCode.E_CROSSED });
      link.close(SessionErrorCode.E_CROSSED, `a link with ${remote} is already being set up`);
      return;
    }
    const found = ctx.find(remote);
    session = found && !found.closed ? found : ctx.create(remote, options);
    if (session.closed) return link.close(SessionErrorCode.E_LINK_QUOTA, "no room for another link");
    session.bind(link);
  }
  new Handshake(link, ctx, options, remote, session);
}

/**
 * Where a handshake stands (spec/transports.md §3). Frames are dispatched on the state and every
 * change goes through one transition function (#to), as ws's Receiver runs its parser:
 *
 *   hello ──remote hello, keyed──▶ auth ──its auth──▶ proving ──outcome──▶ attached
 *     └──remote hello, unkeyed──────────────────────▶ proving ──ambiguous──▶ verdict (spec/transports.md §3.3)
 *   hello, auth, proving, verdict ──refusal (a close frame either way)──▶ refused
 *   every state but attached ──the link ended──▶ gone
 *
 * `attached` hands the link to the session: its frames no longer pass through the handshake.
 */
type State =
  /** Waiting for the remote's hello (this end's is sent already when it dialled). */
  | { readonly name: "hello" }
  /** A keyed remote's hello is in: its `auth` is the one frame expected next. */
  | { readonly name: "auth"; readonly resolve: (auth: AuthFrame) => void }
  /** Both hellos (and the remote's auth) in, signatures being checked: frames wait undecoded. */
  | { readonly name: "proving" }
  /** An ambiguous new-session hello at the smaller peer: the remote's close decides `held`. */
  | { readonly name: "verdict"; readonly held: LinkSession }
  /** The session has the link. */
  | { readonly name: "attached"; readonly session: LinkSession }
  /**
   * Closed before an outcome, by either end, then the link ended (gone). `crossed`: a dial that
   * lost a crossing (spec/transports.md §3.4), whose break is reported at the timeout if the other link never comes.
   */
  | { readonly name: "refused"; readonly crossed: boolean }
  | { readonly name: "gone"; readonly crossed: boolean };

type StateName = State["name"];

/** The transitions the diagram above allows; anything else is a bug, closed with E_INTERNAL. */
const NEXT: Readonly<Record<StateName, readonly StateName[]>> = {
  hello: ["auth", "proving", "refused", "gone"],
  auth: ["proving", "refused", "gone"],
  proving: ["attached", "verdict", "refused", "gone"],
  verdict: ["refused", "gone"],
  refused: ["gone"],
  attached: [],
  gone: [],
};

/**
 * What the transport talks to: the handshake until the outcome, then the session directly.
 * Link.attach is called once, so the handler behind it is swapped here.
 */
class Relay implements LinkHandler {
  target: LinkHandler;

  constructor(target: LinkHandler) {
    this.target = target;
  }

  frame(bytes: Uint8Array): void {
    this.target.frame(bytes);
  }

  closed(info: LinkClosedInfo): void {
    this.target.closed(info);
  }
}

class Handshake implements LinkHandler {
  readonly #link: Link;
  readonly #relay: Relay;
  readonly #ctx: HandshakeContext;
  readonly #options: ResolvedSessionOptions;
  readonly #codec: FrameCodec;
  readonly #nonce = new Uint8Array(NONCE_BYTES);
  #state: State = { name: "hello" };
  /** The remote peer, once known (at once when dialled, else from its hello). */
  #remote: string | undefined;
  readonly #dialled: boolean;
  /**
   * The session this link is set up for, when one is held: breaks before the outcome count
   * against it. An accepted link takes it over from a dial it wins against (spec/transports.md §3.4).
   */
  #bound: LinkSession | undefined;
  #mine: HelloFrame | undefined;
  #theirs: HelloFrame | undefined;
  /** Raw frames that came after the remote's hello and auth, before the outcome. */
  readonly #pending: Uint8Array[] = [];
  #cancelTimer: (() => void) | undefined;

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
    this.#dialled = remote !== undefined;
    this.#codec = new FrameCodec(options.limits);
    options.runtime.randomBytes(this.#nonce);
    this.#cancelTimer = options.runtime.setTimer(options.handshakeTimeoutMs, () =>
      this.#guard(() => this.#timedOut()),
    );
    this.#relay = new Relay(this);
    link.attach(this.#relay);
    if (remote !== undefined) {
      this.#running(remote);
      this.#sendHello(remote);
    }
  }

  frame(bytes: Uint8Array): void {
    this.#guard(() => this.#onFrame(bytes));
  }

  closed(info: LinkClosedInfo): void {
    const state = this.#state;
    if (state.name === "gone" || state.name === "attached") return;
    const crossed = state.name === "refused" && state.crossed;
    this.#to({ name: "gone", crossed });
    if (crossed) return; // reported at the timeout, if the other link never came
    this.#cancelTimer?.();
    this.#bound?.linkClosed(this.#link, info);
  }

  /** One frame before the outcome, by state. */
  #onFrame(bytes: Uint8Array): void {
    const state = this.#state;
    switch (state.name) {
      case "refused":
      case "gone":
      case "attached": // the relay goes to the session; a frame here came from inside its attach
        return;
      case "proving":
        // The rest waits for the outcome untouched (it may be the resumed session's frames).
        this.#pending.push(bytes.slice());
        return;
      case "verdict":
        return this.#onVerdict(state.held, bytes);
      case "hello":
      case "auth": {
        const frame = this.#decode(bytes);
        if (frame === undefined) return;
        if (frame.type === "close") return this.#refusedByRemote(frame.code, frame.reason);
        if (state.name === "hello") {
          if (frame.type !== "hello") return this.#refuse("E_PROTOCOL", `${frame.type} before hello`);
          return this.#onHello(frame);
        }
        if (frame.type !== "auth") return this.#refuse("E_PROTOCOL", `${frame.type} before auth`);
        this.#to({ name: "proving" });
        this.#link.introduced?.();
        state.resolve(frame);
        return;
      }
    }
  }

  /** A frame before the remote's introduction: bounded in size, decoded, or the link refused. */
  #decode(bytes: Uint8Array): Frame | undefined {
    if (bytes.byteLength > PRE_AUTH_FRAME_BYTES) {
      this.#refuse(
        "E_TOO_LARGE",
        `a ${bytes.byteLength}-byte frame before the handshake (at most ${PRE_AUTH_FRAME_BYTES})`,
      );
      return undefined;
    }
    const decoded = this.#codec.decodeFrame(bytes);
    if (decoded.ok) return decoded.frame;
    this.#refuse(decoded.error.code, decoded.error.message);
    return undefined;
  }

  /** The remote closed the link before an outcome: nothing is sent back (spec/wire.md §5.11). */
  #refusedByRemote(code: string, reason: string): void {
    // The remote's own dial goes on (spec/transports.md §3.4): until it arrives, this link's loss is no break.
    const crossed = code === SessionErrorCode.E_CROSSED && this.#dialled;
    this.#to({ name: "refused", crossed });
    if (!crossed) this.#cancelTimer?.();
    this.#logFailure("handshake refused by the remote", code, reason);
    this.#link.close(code, reason);
  }

  /**
   * After an ambiguous new-session hello: the remote closes with E_SESSION_EXPIRED if it really
   * has lost `held` (a restart); a dial that lost a crossing closes otherwise, or just goes away.
   */
  #onVerdict(held: LinkSession, bytes: Uint8Array): void {
    const frame = this.#decode(bytes);
    if (frame === undefined) return;
    if (frame.type !== "close") return this.#refuse("E_PROTOCOL", `${frame.type} before the outcome`);
    if (frame.code === SessionErrorCode.E_SESSION_EXPIRED)
      held.expire("the remote no longer holds the session");
    this.#refusedByRemote(frame.code, frame.reason);
  }

  #timedOut(): void {
    const state = this.#state;
    const reason = `no handshake within ${this.#options.handshakeTimeoutMs} ms`;
    if (state.name !== "refused" && state.name !== "gone") {
      return this.#refuse(SessionErrorCode.E_HANDSHAKE_TIMEOUT, reason);
    }
    if (!state.crossed) return;
    // The session ignores this if the remote's link has taken it over meanwhile.
    this.#bound?.linkClosed(this.#link, {
      code: SessionErrorCode.E_HANDSHAKE_TIMEOUT,
      reason: `${reason}: the crossing link never came`,
      byRemote: false,
    });
  }

  /**
   * The one transition function: checks the move against NEXT, and leaves the handshakes under
   * way once the outcome is reached or lost.
   */
  #to(next: State): void {
    const from = this.#state;
    if (!NEXT[from.name].includes(next.name)) {
      throw new Error(`handshake: no transition from ${from.name} to ${next.name}`);
    }
    this.#state = next;
    if (next.name !== "auth" && next.name !== "proving") this.#settle();
  }

  /**
   * Run a step; an exception nobody expected (a bug, a failing trace sink) closes the link with
   * E_INTERNAL instead of escaping into a socket handler or an unhandled rejection.
   */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      const reason = `internal error: ${error instanceof Error ? error.message : String(error)}`;
      const code = SessionErrorCode.E_INTERNAL;
      this.#ctx.log.error?.("handshake failed", { remote: this.#remote, code, reason });
      const state = this.#state;
      // Thrown while the session took the frames held for it: the session's link, closed there.
      if (state.name === "attached") state.session.close(code, reason);
      else this.#refuse(code, reason);
    }
  }

  #running(remote: string): void {
    this.#remote = remote;
    this.#ctx.running.add(remote, this);
  }

  /** The handshake is over (decided, failed or gone): it no longer counts as under way. */
  #settle(): void {
    if (this.#remote !== undefined) this.#ctx.running.delete(this.#remote, this);
  }

  /**
   * An accepted link from `remote` while this peer's own dial to it is under way: both peers
   * dialled at once. Both ends keep the link dialled by the smaller peer id, so they agree
   * without another round trip (spec/transports.md §3.4). Returns false when this link lost.
   */
  #settleCrossing(hello: HelloFrame): boolean {
    const remote = hello.peer;
    const dials = this.#ctx.running.of(remote).filter((other) => other.#dialled);
    if (dials.length === 0) return true;
    // The remote names a session while this peer's dial is still making its first one: that
    // dial is what made the session at the remote, so it goes on whatever the ids.
    const making = hello.session.length > 0 && dials.some((dial) => !dial.#bound?.id);
    if (making || this.#ctx.local < remote) {
      this.#refuse(SessionErrorCode.E_CROSSED, `crossed dials: ${this.#ctx.local}'s own link goes on`);
      return false;
    }
    for (const dial of dials) {
      // Take the dial's session first, so its link closing is no break of the session.
      const session = dial.#bound;
      if (session && !session.closed) {
        session.bind(this.#link);
        this.#bound = session;
      }
      dial.#refuse(SessionErrorCode.E_CROSSED, `crossed dials: ${remote}'s link goes on`);
    }
    return true;
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
      ...(this.#ctx.clock ? { time: this.#ctx.clock.now() } : {}),
      // After `time` (an optional field is never skipped): links that read batch messages say so.
      ...(this.#ctx.clock && this.#link.batchMessages ? { batches: true } : {}),
    };
    this.#link.send(this.#codec.encode(this.#mine));
  }

  #onHello(hello: HelloFrame): void {
    const expected = this.#bound?.remote;
    if (expected !== undefined && hello.peer !== expected) {
      return this.#wrongPeer(`dialled ${expected}, but the peer at that address is ${hello.peer}`);
    }
    if (this.#ctx.identity && hello.key.length === 0) {
      return this.#refuse(SessionErrorCode.E_AUTH, "the remote proves no key");
    }
    const skew = this.#skew(hello);
    if (skew !== undefined) return this.#refuse("E_CLOCK_SKEW", skew);
    if (!this.#dialled) {
      if (!this.#settleCrossing(hello)) return;
      this.#running(hello.peer);
    }
    this.#theirs = hello;
    if (!this.#mine) this.#sendHello(hello.peer);
    const mine = this.#mine!;
    // The negotiation result: batch messages only when both ends read them (spec/transports.md §1.1).
    this.#link.negotiated?.({ batchMessages: mine.batches === true && hello.batches === true });
    const steps: Promise<void>[] = [];
    const identity = this.#ctx.identity;
    if (identity) {
      steps.push(
        identity.sign(transcript(mine, hello)).then((sig) => {
          if (this.#open()) this.#link.send(this.#codec.encode({ type: "auth", seq: 0, ack: 0, sig }));
        }),
      );
    }
    if (hello.key.length > 0) {
      const auth = new Promise<AuthFrame>((resolve) => this.#to({ name: "auth", resolve }));
      steps.push(
        peerIdFromKey(hello.key).then((id) => {
          if (id === hello.peer) return;
          // Dialled: the peer at that address cannot be the one dialled, whatever id it names.
          if (this.#dialled)
            throw new CapbusError("E_WRONG_PEER", `the peer at that address is ${id}, not ${hello.peer}`);
          throw new CapbusError("E_PROTOCOL", `peer id ${hello.peer} is not its key's`);
        }),
        auth.then(async (frame) => {
          if (!(await verifySignature(hello.key, transcript(hello, mine), frame.sig))) {
            throw new CapbusError("E_PROTOCOL", "the auth signature does not verify");
          }
        }),
      );
    } else {
      // An unkeyed remote has said all it will before the outcome (a keyed one: at its auth).
      this.#to({ name: "proving" });
      this.#link.introduced?.();
    }
    // Without keys the outcome is immediate, which keeps simulated runs deterministic.
    if (steps.length === 0) return this.#decide();
    Promise.all(steps).then(
      () => this.#guard(() => this.#decide()),
      (error: unknown) =>
        this.#guard(() => {
          if (error instanceof CapbusError && error.code === "E_WRONG_PEER")
            return this.#wrongPeer(error.message);
          this.#refuse(SessionErrorCode.E_AUTH, error instanceof Error ? error.message : "auth failed");
        }),
    );
  }

  /** Still before an outcome, with the link up: what the handshake's async steps check. */
  #open(): boolean {
    const name = this.#state.name;
    return name === "hello" || name === "auth" || name === "proving";
  }

  /**
   * The remote's wall clock, as its hello tells, is further off than the assumption allows: why,
   * for the close (a diagnostic: a hostile peer may lie here; rule H2 holds whatever it says).
   */
  #skew(hello: HelloFrame): string | undefined {
    const clock = this.#ctx.clock;
    if (clock === undefined || hello.time === undefined) return undefined;
    // Only a remote ahead is refused here: the hello's age (latency) makes a remote behind look
    // further behind than it is, never further ahead. A remote too far behind refuses this end.
    const ahead = hello.time - clock.now();
    if (ahead <= clock.maxSkewMs) return undefined;
    return (
      `${hello.peer}'s wall clock is ${ahead} ms ahead of this host's, more ` +
      `than the ${clock.maxSkewMs} ms allowed (spec/ordering.md §2): check both hosts' clocks (NTP; a VM ` +
      "restored from a snapshot)"
    );
  }

  /** Both ends see the same two hellos, so both reach the same outcome (spec/transports.md §3.3). */
  #decide(): void {
    if (this.#state.name !== "proving") return;
    const mine = this.#mine!;
    const theirs = this.#theirs!;
    const held = this.#ctx.find(theirs.peer);
    let session: LinkSession;
    let id: Uint8Array;
    if (mine.session.length === 0 && theirs.session.length === 0) {
      if (held && !held.closed && held.id) {
        return this.#refuse("E_PROTOCOL", `already linked to ${theirs.peer}`);
      }
      session = held && !held.closed ? held : this.#ctx.create(theirs.peer, this.#options);
      // The peer had no room for it (maxLinks, none detached): refused, and told why.
      if (session.closed) return this.#refuse(SessionErrorCode.E_LINK_QUOTA, "no room for another link");
      id = sessionId(mine.nonce, theirs.nonce);
    } else if (sameBytes(mine.session, theirs.session) && held?.id && sameBytes(held.id, mine.session)) {
      session = held;
      id = held.id;
    } else {
      // Final at both ends: whatever session either side named is gone (spec/transports.md §4.3).
      if (held?.id && sameBytes(held.id, mine.session)) {
        // At the smaller peer a hello naming no session may come from the remote's dial that lost
        // a crossing and is already dropped there (spec/transports.md §3.4): only the remote's answer tells.
        if (!this.#dialled && theirs.session.length === 0 && this.#ctx.local < theirs.peer) {
          this.#to({ name: "verdict", held });
          for (const bytes of this.#pending.splice(0)) this.#onFrame(bytes);
          return;
        }
        held.expire("the remote no longer holds the session");
      }
      return this.#refuse(SessionErrorCode.E_SESSION_EXPIRED, "the sessions named do not match");
    }
    this.#attach(session, id, theirs);
  }

  /**
   * Hand the link to `session`. A refusal there (a resume acknowledging frames never sent) is a
   * close frame on this link, and the session is over at both
   * ends (spec/errors.md §1); anything else thrown is E_INTERNAL, and ends the session too.
   */
  #attach(session: LinkSession, id: Uint8Array, theirs: HelloFrame): void {
    const link = this.#link;
    // Ended while the signatures were checked (its grace passed, say): the session named is gone.
    if (session.closed) return this.#refuse(SessionErrorCode.E_SESSION_EXPIRED, "the session is over");
    try {
      session.attach(link, id, theirs.ack, theirs);
    } catch (error) {
      const known = error instanceof CapbusError;
      const code = known ? error.code : SessionErrorCode.E_INTERNAL;
      const reason = error instanceof Error ? error.message : String(error);
      if (!known) this.#ctx.log.error?.("session attach failed", { remote: theirs.peer, code, reason });
      this.#refuse(code, reason);
      session.close(code, reason);
      return;
    }
    this.#cancelTimer?.();
    this.#to({ name: "attached", session });
    this.#relay.target = {
      frame: (bytes) => session.receive(link, bytes),
      closed: (info) => session.linkClosed(link, info),
    };
    for (const bytes of this.#pending.splice(0)) session.receive(link, bytes);
  }

  /**
   * This dial reached someone other than the peer it dialled. No break to resume: a session this
   * dial was making ends with E_WRONG_PEER (an established one keeps its grace for the real
   * peer to come back).
   */
  #wrongPeer(reason: string): void {
    if (!this.#open()) return;
    this.#refuse("E_WRONG_PEER", reason);
    const bound = this.#bound;
    if (bound?.id === undefined) bound?.close("E_WRONG_PEER", reason);
  }

  #logFailure(message: string, code: string, reason: string): void {
    const log = this.#ctx.log;
    // A crossing is routine (both peers dialled at once), not a failure worth an info line.
    if (code === SessionErrorCode.E_CROSSED) log.debug?.(message, { remote: this.#remote, code, reason });
    else log.info?.(message, { remote: this.#remote, code, reason });
  }

  /**
   * Refuse the link before an outcome: a `close` frame with the code, then the transport closes
   * (spec/errors.md §1). Every refusal of this end goes through here.
   */
  #refuse(code: string, reason: string): void {
    const state = this.#state.name;
    if (state === "refused" || state === "gone" || state === "attached") return;
    this.#logFailure("handshake failed", code, reason);
    this.#to({ name: "refused", crossed: false });
    this.#cancelTimer?.();
    this.#link.send(this.#codec.encode({ type: "close", seq: 0, ack: 0, code, reason }));
    this.#link.close(code, reason);
  }
}

/**
 * What the signer of `signer` signs in its `auth` (spec/transports.md §3.2): both nonces, both
 * keys, and the session it resumes with its ack. Exported for tools that speak the handshake
 * themselves (the attack harness).
 */
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
