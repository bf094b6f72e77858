/**
 * One real peer under attack through scripted in-memory links (the fuzz tests' harness). The
 * victim V owns node V/1; a good remote G holds a handle to it, and V has a fast unicast to G/1
 * waiting for G's answer. Each attack opens a fresh attacker link, says hello (or not), hands V
 * one hostile frame, and checks that V closed that link with the expected code and a close frame,
 * and that G's traffic around the attack is delivered in full: a unicast committed before it and
 * left unread, a round staged before it and committed after, and a unicast sent after it.
 */
import assert from "node:assert/strict";
import { type Node, Peer, type Runtime } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { type Frame, FrameCodec, type WireLimits } from "@capbus/wire";
import { type Cbor, encodeCbor } from "./fuzz-cbor.js";

const codec = new FrameCodec();
const EMPTY = new Uint8Array(0);
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

let noise = 1;

/** No timer ever fires: every run is the same, and nothing outlives the test (acks go by count). */
export const frozenRuntime: Runtime = {
  now: () => 0,
  setTimer: () => () => undefined,
  // The turn ends at once: answers held to the end of a turn (B7) are written before the
  // synchronous harness reads them.
  defer: (fn) => fn(),
  // Nonces need not be secret here, and WebCrypto costs more than a whole fuzz round.
  randomBytes: (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
      bytes[i] = noise >>> 24;
    }
  },
};

const hellos = new Map<string, Uint8Array>();

/** An unkeyed remote's hello for a new session (cached: attackers reuse a few ids). */
export function helloBytes(peer: string): Uint8Array {
  let bytes = hellos.get(peer);
  if (bytes === undefined) {
    bytes = encodeHello(peer, [2]);
    if (hellos.size < 1024) hellos.set(peer, bytes);
  }
  return bytes;
}

export function encodeHello(peer: string, versions: number[]): Uint8Array {
  return codec.encode({
    type: "hello",
    seq: 0,
    ack: 0,
    versions,
    peer,
    key: EMPTY,
    nonce: new Uint8Array(16),
    session: EMPTY,
  });
}

/** What the victim's state lets an attack name. */
export interface VictimState {
  /** V's clock now (spec/ordering.md §2). */
  readonly clock: number;
  /** V's wall clock (Unix ms): what H2's adopt and refuse limits are counted from. */
  readonly wallMs: number;
  /** V's node (G holds it). */
  readonly node: number;
  /** The event number of V's unicast to G, still undecided (G has not answered). */
  readonly pending: number;
  /** The attacker's peer id on this link. */
  readonly attacker: string;
}

export interface Attack {
  /** Give the attacker a reference to V/1 first (attacks that need to pass the owner's check). */
  readonly holder?: boolean;
  /** Send the hostile frame as the link's first frame, before any hello. */
  readonly beforeHello?: boolean;
  /** Wire limits of the attacker's session (and its handshake). */
  readonly limits?: WireLimits;
  /** Valid frames sent first (after the hello); they must not close the link. */
  readonly prelude?: (state: VictimState) => Uint8Array[];
  /**
   * The attack relies on the prelude's event still being in the queue (behind G's staged round):
   * once delivered, a repeat is not caught (BUG repeated-event, see fuzz.capabilities.test.ts).
   */
  readonly needsQueued?: boolean;
  /** The hostile frame. */
  readonly frame: (state: VictimState) => Uint8Array;
}

/** The outcome of one attack. */
export interface Outcome {
  /** The code V closed the link with, or undefined when the frame happened to be valid. */
  readonly code: string | undefined;
  /** Messages from the attacker that V delivered (an attack's valid prelude may be delivered). */
  readonly attackerMessages: number;
}

export class Victim {
  readonly peer: Peer;
  readonly #good = new ScriptedLink();
  readonly #node: Node;
  readonly #pending: number;
  readonly #result: Promise<{ ok: boolean }>;
  #goodSeq = 0;
  /** Sequenced frames V sent to G: what G acknowledges. */
  #goodAck = 0;
  #round = 0;
  #attackers = 0;
  /** An attack failed part-way: the harness state is off, start a new victim. */
  broken = false;

  constructor(options: { readonly id?: string } = {}) {
    this.peer = new Peer({ id: options.id ?? "V", runtime: frozenRuntime });
    this.peer.connect(this.#good, "G");
    this.#good.deliver(helloBytes("G"));
    const node = this.peer.createNode();
    this.peer.grant(node, "G");
    this.#node = node;
    const remote = this.peer.importHandle({ owner: "G", node: 1, holder: this.peer.id });
    this.#result = this.peer.send(remote, "pending");
    const unicast = this.#fromV().find((f) => f.type === "unicast");
    assert.ok(unicast?.type === "unicast", "V sent its unicast to G");
    this.#pending = unicast.event;
  }

  /** Run one attack; throws (an assertion) when V crashed, kept the link, or lost G's events. */
  attack(attack: Attack, expected: string): Outcome {
    const round = ++this.#round;
    const node = this.#node.id;
    // G, before: a round staged and not yet committed (and last round's unicast, left unread).
    this.#push([1, 2 * round - 1, 0, [node], `staged ${round}`, [], [this.peer.id]]);
    const proposal = this.peer.clock; // the proposal is V's clock tick for the stage
    this.#answered(2); // propose

    const attacker = `X${this.#attackers++ % 16}`;
    if (attack.holder) this.peer.grant(this.#node, attacker);
    const link = new ScriptedLink();
    this.peer.connect(link, attacker, attack.limits ? { limits: attack.limits } : {});
    // frozenRuntime: V's wall clock reads 0.
    const state: VictimState = { clock: this.peer.clock, wallMs: 0, node, pending: this.#pending, attacker };
    let bytes: Uint8Array | undefined;
    let code: string | undefined;
    try {
      if (!attack.beforeHello) {
        link.deliver(helloBytes(attacker));
        for (const frame of attack.prelude?.(state) ?? []) {
          link.deliver(frame);
          assert.equal(link.closed, undefined, "a valid prelude frame closed the link");
        }
      }
      bytes = attack.frame({ ...state, clock: this.peer.clock });
      link.deliver(bytes);
      code = this.#checkClosed(link, bytes, expected);
    } catch (error) {
      this.broken = true;
      const hex = bytes ? Buffer.from(bytes).toString("hex") : "(none)";
      if (error instanceof Error) error.message += `\n  hostile frame (${bytes?.length} bytes): ${hex}`;
      throw error;
    }
    if (!link.closed) link.remoteClose("E_LINK_CUT", "the fuzzer hangs up");

    // G, after: commit the staged round. It and last round's unicast are delivered, in order.
    this.#push([3, 2 * round - 1, proposal, []]);
    const fromG: unknown[] = [];
    let attackerMessages = 0;
    for (let e = this.peer.poll(); e; e = this.peer.poll()) {
      if (e.kind === "message" && e.ts.peer === "G") fromG.push(e.payload);
      else if (e.kind === "message" && e.ts.peer === attacker) attackerMessages++;
      else assert.fail(`unexpected ${e.kind} event ${e.event}`);
    }
    assert.deepEqual(fromG, round === 1 ? ["staged 1"] : [`after ${round - 1}`, `staged ${round}`]);
    // A unicast after the attack, committed on arrival and left unread until the next round.
    this.#push([5, 2 * round, 0, node, `after ${round}`]);
    this.#answered(6); // accept
    const links = this.peer.linkedPeers;
    assert.ok(links.length === 1 && links[0] === "G", "only G's link is left");
    return { code, attackerMessages };
  }

  /** G answers V's pending unicast: it commits, so nothing of V's was lost either. */
  async finish(): Promise<void> {
    const last = [];
    for (let e = this.peer.poll(); e; e = this.peer.poll()) last.push(e.kind === "message" && e.payload);
    assert.deepEqual(last, this.#round === 0 ? [] : [`after ${this.#round}`]);
    this.#push([6, this.#pending, this.peer.clock + 1]);
    const result = await this.#result;
    assert.equal(result.ok, true, "V's unicast to G committed");
    this.peer.abort();
  }

  /** `expected`: a code, or "*" for any code (then a frame that happens to be valid may leave the link up). */
  #checkClosed(link: ScriptedLink, bytes: Uint8Array, expected: string): string | undefined {
    const sent = link.take().map((b) => codec.decode(b));
    if (!link.closed) {
      assert.equal(expected, "*", `the link stayed up (expected ${expected})`);
      assert.equal(codec.decodeFrame(bytes).ok, true, "an invalid frame left the link up");
      return undefined;
    }
    const { code, reason, byRemote } = link.closed;
    const decoded = codec.decodeFrame(bytes);
    if (expected === "*" && decoded.ok && decoded.frame.type === "close") return "(the attacker's own close)";
    assert.equal(byRemote, false, "V closed the link");
    assert.match(code, CODE);
    assert.notEqual(code, "OK");
    assert.ok(reason.length > 0, "the close has a reason");
    if (expected !== "*") assert.equal(code, expected);
    const close = sent.at(-1);
    assert.ok(close?.type === "close", "V's last frame on the link is a close frame");
    assert.equal(close.code, code, "the close frame carries the code");
    return code;
  }

  /**
   * G sends a frame, given as its wire tuple without seq and ack (`[type, ...fields]`), written
   * by hand: the codec's schema check costs more than the rest of a fuzz round.
   */
  #push(tuple: Cbor[]): void {
    const [type, ...fields] = tuple;
    const unsequenced = type === 8 || type === 9 || type === 0;
    const seq = unsequenced ? 0 : ++this.#goodSeq;
    this.#good.deliver(encodeCbor([type as Cbor, seq, this.#goodAck, ...fields]));
    if (this.#good.closed)
      assert.fail(`G's link closed: ${this.#good.closed.code} ${this.#good.closed.reason}`);
  }

  /** V answered G with exactly one sequenced frame, of type code `type` (pure acks aside). */
  #answered(type: number): void {
    const types: number[] = [];
    for (const bytes of this.#good.take()) {
      // Every frame V sends G is a short array whose type is a one-byte integer.
      const t = bytes[1]!;
      if (t === 8) continue;
      types.push(t);
      this.#goodAck++; // sequenced: G acknowledges it from now on
    }
    if (types.length !== 1 || types[0] !== type)
      assert.fail(`V answered G with types [${types}], not [${type}]`);
  }

  /** Frames V sent G since the last call (decoded); G acknowledges the sequenced ones. */
  #fromV(): Frame[] {
    const frames = this.#good.take().map((b) => codec.decode(b));
    for (const f of frames) if (f.seq > this.#goodAck) this.#goodAck = f.seq;
    return frames;
  }
}
