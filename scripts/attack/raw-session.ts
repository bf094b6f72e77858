/**
 * The attacker's own session with the victim over a WebSocket, written from the spec rather than
 * with @capbus/core's session, so it can send what an honest peer never would: `hello` and `auth`
 * (spec/transports.md §3, keyed), then any frame with the numbering the victim expects (seq, ack),
 * answering or ignoring the victim's rounds as the attack needs.
 */
import { Identity, transcript } from "@capbus/core";
import { joinWsBatch, splitWsMessage } from "@capbus/transport";
import { type Frame, FrameCodec, type HelloFrame, WIRE_VERSION } from "@capbus/wire";
import { WebSocket } from "ws";

/** A frame without its envelope numbers: the session fills in `seq` and `ack`. */
export type Body = Frame extends infer F ? (F extends unknown ? Omit<F, "seq" | "ack"> : never) : never;

/** Frame types that answer one of our events (by its number). */
type AnswerFrame = Extract<Frame, { type: "propose" | "accept" | "reject" | "dead" | "granted" }>;
const ANSWERS: ReadonlySet<string> = new Set(["propose", "accept", "reject", "dead", "granted"]);
const UNSEQUENCED: ReadonlySet<string> = new Set(["hello", "auth", "ack", "close"]);
/** Largest ws message the attacker writes (a batch of frames, spec/transports.md §1.1). */
const BATCH_BYTES = 1 << 20;

export interface RawSessionOptions {
  /** The key pair to prove. @default a fresh one */
  readonly identity?: Identity;
  /**
   * Acknowledge the victim's frames (pure acks, and `ack` on every frame we send). Without it
   * every frame carries ack 0 and the victim keeps all it sent for resending. @default true
   */
  readonly acks?: boolean;
  /**
   * Which of the victim's frames that ask for an answer get one (`stage`, `notice`, `destroy`:
   * `propose`; `unicast`, `release`: `accept`; `claim`: `reject`). @default every one
   */
  readonly answer?: (frame: Frame) => boolean;
  /** How long the handshake may take. @default 10000 */
  readonly timeoutMs?: number;
}

export interface Closed {
  readonly code: string;
  readonly reason: string;
}

export class RawSession {
  /** The victim's peer id (from its hello). */
  readonly remote: string;
  readonly identity: Identity;
  /** The highest clock value seen from the victim: what an attacker's frames are near. */
  clock = 0;
  /** Set once the victim closed the session (close frame) or the socket went. */
  closed: Closed | undefined;
  /** Every frame from the victim goes here first (after the session's own bookkeeping). */
  onFrame: ((frame: Frame) => void) | undefined;
  readonly #ws: WebSocket;
  readonly #codec = new FrameCodec();
  readonly #acks: boolean;
  readonly #answer: (frame: Frame) => boolean;
  #sendSeq = 0;
  #recvSeq = 0;
  #event = 0;
  #ackOwed = false;
  #ackTimer: NodeJS.Timeout | undefined;
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #flushing = false;
  readonly #waiters = new Map<number, (frame: AnswerFrame | undefined) => void>();
  readonly #ended: Promise<Closed>;

  private constructor(ws: WebSocket, identity: Identity, remote: string, options: RawSessionOptions) {
    this.#ws = ws;
    this.identity = identity;
    this.remote = remote;
    this.#acks = options.acks ?? true;
    this.#answer = options.answer ?? (() => true);
    this.#ended = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        // A capbus close comes as WebSocket code 4000 with the capbus code as its reason.
        const text = reason.toString();
        this.closed ??=
          code === 4000
            ? { code: text, reason: "closed by the victim" }
            : { code: String(code), reason: text };
        clearTimeout(this.#ackTimer);
        for (const wake of this.#waiters.values()) wake(undefined);
        this.#waiters.clear();
        resolve(this.closed);
      });
    });
  }

  /** Connect to `endpoint` (ws://host:port) and run the handshake as a keyed peer. */
  static async open(endpoint: string, options: RawSessionOptions = {}): Promise<RawSession> {
    const identity = options.identity ?? (await Identity.generate());
    const ws = await connect(endpoint);
    const codec = new FrameCodec();
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const mine: HelloFrame = {
      type: "hello",
      seq: 0,
      ack: 0,
      versions: [WIRE_VERSION],
      peer: identity.id,
      key: identity.publicKey,
      nonce,
      session: new Uint8Array(0),
    };
    /** Frames after the victim's auth: the session's, read once it exists. */
    const early: Uint8Array[] = [];
    let authed = false;
    let signed: Promise<HelloFrame> | undefined;
    let step: ((frame: Frame) => void) | undefined;
    const handshake = new Promise<HelloFrame>((resolve, reject) => {
      let theirs: HelloFrame | undefined;
      const timer = setTimeout(() => reject(new Error("handshake timed out")), options.timeoutMs ?? 10_000);
      ws.once("close", (code, reason) => reject(new Error(`closed in the handshake: ${code} ${reason}`)));
      step = (frame) => {
        if (frame.type === "close") return reject(new Error(`refused: ${frame.code} ${frame.reason}`));
        if (!theirs && frame.type === "hello") {
          theirs = frame;
          const hello = frame;
          // Our auth must be out before any session frame: the session opens once both are.
          signed = identity.sign(transcript(mine, frame)).then((sig) => {
            ws.send(codec.encode({ type: "auth", seq: 0, ack: 0, sig }));
            return hello;
          });
          return;
        }
        if (theirs && frame.type === "auth" && signed) {
          authed = true;
          clearTimeout(timer);
          resolve(signed);
        }
      };
    });
    const onMessage = (data: Buffer) => {
      const split = splitWsMessage(new Uint8Array(data), Number.MAX_SAFE_INTEGER);
      if (!split.ok) return;
      for (const bytes of split.frames) {
        if (authed) {
          early.push(bytes.slice());
          continue;
        }
        const decoded = codec.decodeFrame(bytes);
        if (decoded.ok) step?.(decoded.frame);
      }
    };
    ws.on("message", onMessage);
    ws.send(codec.encode(mine));
    let theirs: HelloFrame;
    try {
      theirs = await handshake;
    } catch (error) {
      ws.terminate();
      throw error;
    }
    ws.off("message", onMessage);
    const session = new RawSession(ws, identity, theirs.peer, options);
    ws.on("message", (data: Buffer) => session.#onMessage(data));
    for (const bytes of early) session.#onFrameBytes(bytes);
    return session;
  }

  /** Our next event number (one sequence for stage, unicast, destroy, claim, ...). */
  nextEvent(): number {
    return ++this.#event;
  }

  /** The victim's frames received in order: what our frames acknowledge. */
  get received(): number {
    return this.#recvSeq;
  }

  /**
   * Resolves true once the victim sent a sequenced frame (it registered the session: its
   * `endpoints` hint comes first), false if it closed the session or `ms` passed first.
   */
  async admitted(ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    while (this.#recvSeq === 0 && !this.closed && performance.now() < until) await sleep(5);
    return this.#recvSeq > 0 && !this.closed;
  }

  /** Bytes written to the socket and not yet handed to the kernel, plus our unflushed batch. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + this.#outboxBytes;
  }

  /** How the session ended (`CODE: reason`), or null while it runs. */
  get closeText(): string | null {
    return this.closed ? `${this.closed.code}: ${this.closed.reason}`.slice(0, 160) : null;
  }

  /** Resolves when the session ends (close frame, or the socket went). */
  get ended(): Promise<Closed> {
    return this.#ended;
  }

  /** Send one frame, numbered in turn; returns its seq (0 for unsequenced frames). */
  send(body: Body): number {
    const unsequenced = UNSEQUENCED.has(body.type);
    const seq = unsequenced ? 0 : ++this.#sendSeq;
    this.#write(this.#codec.encodeOwn({ ...body, seq, ack: this.#ackValue() } as Frame));
    return seq;
  }

  /**
   * Send a frame built by hand: `build(seq, ack)` returns its bytes for the next seq (for frames
   * too big to go through the encoder, or ones it would refuse).
   */
  sendBuilt(build: (seq: number, ack: number) => Uint8Array): number {
    const seq = ++this.#sendSeq;
    this.#write(build(seq, this.#ackValue()));
    return seq;
  }

  /** The victim's answer to our event `event` (propose, accept, reject, dead, granted); undefined if the session ends first. */
  answerTo(event: number): Promise<AnswerFrame | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.set(event, resolve));
  }

  /** Present a capability URL's secret; resolves with the node granted (throws with the refusal code). */
  async claim(secret: Uint8Array): Promise<number> {
    const event = this.nextEvent();
    const answer = this.answerTo(event);
    this.send({ type: "claim", event, secret });
    const frame = await answer;
    if (frame?.type === "granted") return frame.node;
    throw new Error(`claim refused: ${frame?.type === "reject" ? frame.code : (this.closed?.code ?? "?")}`);
  }

  /** Wait until no more than `bytes` wait to be written (a flood's brake). */
  async drain(bytes = 1 << 20): Promise<void> {
    while (!this.closed && this.bufferedAmount > bytes) await sleep(2);
  }

  /** Stop reading the socket: the victim's writes pile up on its side. */
  pauseReading(): void {
    this.#ws.pause();
  }

  /** Close cleanly (a `close` frame, then the socket). */
  close(code = "OK", reason = "done"): void {
    if (this.closed) return;
    this.send({ type: "close", code, reason });
    this.#flush();
    this.#ws.close(4000, code);
  }

  /** Drop the socket without a word (a break: the victim keeps the session for its grace). */
  drop(): void {
    this.#ws.terminate();
  }

  #ackValue(): number {
    if (!this.#acks) return 0;
    this.#ackOwed = false;
    return this.#recvSeq;
  }

  #write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.#outbox.push(bytes);
    this.#outboxBytes += bytes.byteLength;
    if (this.#outboxBytes >= BATCH_BYTES) return this.#flush();
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushing = false;
    if (this.#outbox.length === 0) return;
    const frames = this.#outbox;
    this.#outbox = [];
    this.#outboxBytes = 0;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(joinWsBatch(frames), { binary: true });
  }

  #onMessage(data: Buffer): void {
    const split = splitWsMessage(new Uint8Array(data), Number.MAX_SAFE_INTEGER);
    if (split.ok) for (const bytes of split.frames) this.#onFrameBytes(bytes);
  }

  #onFrameBytes(bytes: Uint8Array): void {
    const decoded = this.#codec.decodeFrame(bytes);
    if (!decoded.ok) return;
    const frame = decoded.frame;
    if (frame.type === "close") {
      this.closed = { code: frame.code, reason: frame.reason };
      return;
    }
    if (frame.seq > 0) {
      this.#recvSeq = frame.seq;
      this.#owe();
    }
    if ("clock" in frame && frame.clock > this.clock) this.clock = frame.clock;
    if ("lamport" in frame && frame.lamport > this.clock) this.clock = frame.lamport;
    this.onFrame?.(frame);
    if (ANSWERS.has(frame.type)) {
      const answer = frame as AnswerFrame;
      const wake = this.#waiters.get(answer.event);
      this.#waiters.delete(answer.event);
      wake?.(answer);
      return;
    }
    if (this.#answer(frame)) this.#reply(frame);
  }

  /** What an honest peer answers to the victim's own events. */
  #reply(frame: Frame): void {
    switch (frame.type) {
      case "stage":
      case "notice":
      case "destroy":
        this.clock = Math.max(this.clock, frame.clock) + 1;
        this.send({ type: "propose", event: frame.event, lamport: this.clock });
        return;
      case "unicast":
      case "release":
        this.clock = Math.max(this.clock, frame.clock) + 1;
        this.send({ type: "accept", event: frame.event, lamport: this.clock });
        return;
      case "claim":
        this.send({ type: "reject", event: frame.event, code: "E_NO_EXPORT" });
        return;
      default:
        return;
    }
  }

  #owe(): void {
    if (!this.#acks || this.#ackOwed) return;
    this.#ackOwed = true;
    this.#ackTimer = setTimeout(() => {
      if (this.#ackOwed && !this.closed) this.send({ type: "ack" });
    }, 20);
  }
}

/** A WebSocket to `endpoint`, open. */
export function connect(endpoint: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(endpoint, { maxPayload: 64 * 1024 * 1024 });
    ws.once("open", () => {
      ws.off("error", reject);
      ws.on("error", () => undefined); // reported by close
      resolve(ws);
    });
    ws.once("error", reject);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
