/**
 * One session with one remote peer as the peer sees it (spec/transports.md §4). It outlives the
 * links it runs over: it numbers outgoing frames, keeps every sequenced frame until the remote
 * acknowledges it, and after a break resends what was not acknowledged on the next link, while
 * incoming frames already seen are dropped (P6). Every bad frame closes the session with the
 * error's code. Handshakes (handshake.ts) decide which session a new link belongs to.
 */
import { type Frame, FrameCodec, type HelloFrame, WireError, type WireLimits } from "@capbus/wire";
import { CapbusError } from "./errors.js";
import type { Link, LinkClosedInfo } from "./link.js";
import type { Runtime } from "./runtime.js";
import { SessionErrorCode } from "./session-errors.js";

/** A frame as the peer writes it: the session fills in `seq` and `ack`. */
export type FrameBody = Frame extends infer F ? (F extends unknown ? Omit<F, "seq" | "ack"> : never) : never;

export interface SessionHandler {
  /**
   * A valid, in-order frame. `size` bounds the memory the decoded frame takes (the codec's
   * `decodedBytes`, spec/wire.md §8): what keeping it costs, which quotas charge. Throwing a
   * CapbusError closes the session with its code.
   */
  frame(session: LinkSession, frame: Frame, size: number): void;
  /** The session is over (closed by either end, expired, or its link broke with no grace). Once. */
  closed(session: LinkSession, info: LinkClosedInfo): void;
  /** A handshake attached a link: the session's first (`resumed` false) or a resume. */
  attached?(session: LinkSession, resumed: boolean): void;
  /** The session's link broke and it waits, within its grace, for a resume. */
  detached?(session: LinkSession, info: LinkClosedInfo): void;
}

/** Timeouts and bounds of a session; every field has a default (spec/transports.md §6). */
export interface SessionOptions {
  /**
   * How long a session whose link broke waits for a resume before it expires at this end.
   * 0 means a broken link ends the session at once (links that cannot reconnect).
   * @default 0 (the transports' `listen`/`dial` pass 30000)
   */
  graceMs?: number;
  /**
   * The window: the most memory written, unacknowledged frames (kept for resending) may take,
   * each counted as its bytes plus HELD_FRAME_COST. Frames beyond it wait in the session's send
   * queue, in order, until acknowledgements make room; one frame alone may exceed it.
   * @default 16777216 (16 MiB)
   */
  maxUnackedBytes?: number;
  /**
   * The most memory frames waiting in the send queue (beyond the window, or while the link is
   * down) may take, counted as for the window. A new message that would queue beyond it is
   * refused before the wire with E_BACKPRESSURE; an empty queue takes one frame of any size.
   * Protocol frames (commits, answers, destroys, releases) queue up to twice as much; one beyond
   * that closes the session with E_QUOTA (a remote that takes nothing it is sent, spec/transports.md §6).
   * @default 16777216 (16 MiB)
   */
  maxBufferedBytes?: number;
  /** Delay before a pure `ack` answers frames that no outgoing frame acknowledged. @default 20 */
  ackDelayMs?: number;
  /** Acknowledge at once once this many received frames are unacknowledged. @default 64 */
  ackEvery?: number;
  /** How long a link may take to finish its handshake. @default 10000 */
  handshakeTimeoutMs?: number;
  /** Receive-side bounds for frames (spec/wire.md §8). @default the wire defaults */
  limits?: WireLimits;
}

export type ResolvedSessionOptions = Required<Omit<SessionOptions, "limits">> & {
  readonly limits: WireLimits | undefined;
  readonly runtime: Runtime;
};

export function resolveSessionOptions(options: SessionOptions, runtime: Runtime): ResolvedSessionOptions {
  return {
    graceMs: options.graceMs ?? 0,
    maxUnackedBytes: options.maxUnackedBytes ?? 16 * 1024 * 1024,
    maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
    ackDelayMs: options.ackDelayMs ?? 20,
    ackEvery: options.ackEvery ?? 64,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    limits: options.limits,
    runtime,
  };
}

interface Sent {
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/** What an acknowledged frame's slot holds until the array is compacted. */
const RELEASED: Sent = { seq: 0, bytes: new Uint8Array(0) };

/**
 * What holding one frame costs beyond its bytes: its Sent record, its Uint8Array view and its
 * slot (about 150 bytes measured on Node 20). A window counted in wire bytes alone let a remote
 * that never acknowledges make a session hold 8 times the window in small answers (issue 17).
 */
export const HELD_FRAME_COST = 160;

/** What a frame of `bytes` costs held in the window or the send queue. */
function heldCost(bytes: Uint8Array): number {
  return bytes.byteLength + HELD_FRAME_COST;
}

export class LinkSession {
  /** The remote peer's id, known from the start (dialled) or from its hello. */
  remote: string | undefined;
  /** The session id both ends agreed on in the first handshake; undefined until then. */
  id: Uint8Array | undefined;
  readonly options: ResolvedSessionOptions;
  readonly #codec: FrameCodec;
  readonly #handler: SessionHandler;
  /** The link frames go out on: set once a handshake attached it, cleared when it breaks. */
  #link: Link | undefined;
  /** The link a handshake is running on for this session (resume or first), if any. */
  #pendingLink: Link | undefined;
  #sendSeq = 0;
  #recvSeq = 0;
  /**
   * Numbered frames the remote has not acknowledged, oldest first, from index #head: those
   * before #next are written (the window), the rest wait in the send queue.
   */
  #frames: Sent[] = [];
  #head = 0;
  #next = 0;
  #unackedBytes = 0;
  #bufferedBytes = 0;
  /** The highest seq written to a link: what the remote may acknowledge. */
  #writtenSeq = 0;
  /** drained() callers, woken when the send queue empties or the session ends. */
  #drainWaiters: Array<() => void> = [];
  #ackOwed = 0;
  #cancelAck: (() => void) | undefined;
  #cancelGrace: (() => void) | undefined;
  #closed = false;
  /** When the session's link broke, while it waits for a resume (Runtime time); else undefined. */
  #detachedAt: number | undefined;
  /** A protocol frame overran the send queue: the session is closing (#overrun). */
  #overrunning = false;
  /** Duplicates dropped after resumes (for tests and stats). */
  duplicates = 0;
  /** Times the session resumed on a new link (stats). */
  resumes = 0;
  /** Frames and bytes written to and read from this session's links, after the handshake (stats). */
  framesOut = 0;
  bytesOut = 0;
  framesIn = 0;
  bytesIn = 0;

  constructor(handler: SessionHandler, options: ResolvedSessionOptions, remote?: string) {
    this.#handler = handler;
    this.options = options;
    this.#codec = new FrameCodec(options.limits);
    this.remote = remote;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True while a link is attached and frames flow. */
  get live(): boolean {
    return this.#link !== undefined;
  }

  /**
   * Since when the established session has waited for a resume (its link broke; a resume
   * handshake may be under way), or undefined while a link is attached, or before the first.
   */
  get detachedAt(): number | undefined {
    return this.#detachedAt;
  }

  /** The highest seq received in order: what a resume asks the remote to continue after. */
  get received(): number {
    return this.#recvSeq;
  }

  /**
   * Written frames still waiting for an acknowledgement (the window in use): their bytes plus
   * HELD_FRAME_COST each.
   */
  get unackedBytes(): number {
    return this.#unackedBytes;
  }

  /** Frames waiting in the send queue, not written yet (like ws's bufferedAmount), counted as the window's. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /**
   * Send a frame: written now if the window has room, else queued behind earlier frames. Never
   * refused for room (protocol frames must go); throws WireError if it cannot be encoded.
   */
  send(body: FrameBody): void {
    this.#send(body, false);
  }

  /**
   * Send a frame of a new message: as `send`, but refused with E_BACKPRESSURE when it would take
   * a non-empty send queue past `maxBufferedBytes`. A refused frame takes no seq.
   */
  offer(body: FrameBody): void {
    this.#send(body, true);
  }

  /** Have the link write what it holds for a batch now (Link.flush), rather than at its own flush. */
  flush(): void {
    this.#link?.flush?.();
  }

  /** Resolves once nothing waits in the send queue (at once if nothing does), or the session ends. */
  drained(): Promise<void> {
    if (this.#closed || this.#next === this.#frames.length) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #send(body: FrameBody, admit: boolean): void {
    if (this.#closed) return;
    if (body.type === "ack" || body.type === "close") {
      // Never queued behind data: an ack frees the remote's window, and would deadlock there.
      const link = this.#link;
      if (link) this.#write(link, this.#codec.encodeOwn(body, 0, this.#recvSeq));
      return;
    }
    if (this.#overrunning) return; // closing for an overrun (#overrun): nothing more is queued
    // Encode before taking the number, so a refused frame leaves no gap in the sequence.
    const seq = this.#sendSeq + 1;
    const bytes = this.#codec.encodeOwn(body, seq, this.#recvSeq);
    const cost = heldCost(bytes);
    if (admit && !this.#admits(cost)) {
      throw new CapbusError(
        "E_BACKPRESSURE",
        `${this.#bufferedBytes} bytes already wait to go to ${this.remote} (maxBufferedBytes ${this.options.maxBufferedBytes})`,
      );
    }
    if (!admit && this.#bufferedBytes + cost > 2 * this.options.maxBufferedBytes) return this.#overrun();
    this.#sendSeq = seq;
    this.#frames.push({ seq, bytes });
    this.#bufferedBytes += cost;
    this.#pump();
    if (this.#writtenSeq === seq) this.#acked(); // written at once: it carried the current ack
  }

  /** Would a new message's frame of `size` bytes be taken: written now, or queued within bounds? */
  #admits(size: number): boolean {
    // An empty queue takes it (written now, or the one frame waiting); else it waits behind others.
    return this.#bufferedBytes === 0 || this.#bufferedBytes + size <= this.options.maxBufferedBytes;
  }

  /** Does the window have room for a frame of `size` (one frame alone may exceed it)? */
  #fits(size: number): boolean {
    return this.#unackedBytes === 0 || this.#unackedBytes + size <= this.options.maxUnackedBytes;
  }

  /** Write queued frames, in order, while the link is up and the window has room. */
  #pump(all = false): void {
    const link = this.#link;
    if (!link) return;
    while (this.#next < this.#frames.length && this.#link === link) {
      const frame = this.#frames[this.#next]!;
      const size = heldCost(frame.bytes);
      if (!all && !this.#fits(size)) break;
      this.#next++;
      this.#bufferedBytes -= size;
      this.#unackedBytes += size;
      this.#writtenSeq = frame.seq;
      this.#write(link, frame.bytes);
    }
    if (this.#next === this.#frames.length && this.#drainWaiters.length > 0) this.#wakeDrained();
  }

  /**
   * Protocol frames alone filled the send queue twice over: the remote takes nothing it is sent
   * (it stopped acknowledging) yet keeps sending frames that need answers, or this end queued
   * that much while detached. The session ends with E_QUOTA rather than grow without bound. The
   * close waits a microtask: the frame was sent from deep inside a round, which must not see the
   * session end under it. Frames sent meanwhile are dropped (the session is over for them too).
   */
  #overrun(): void {
    if (this.#overrunning) return;
    this.#overrunning = true;
    queueMicrotask(() => {
      if (this.#closed) return;
      const reason = `more than ${2 * this.options.maxBufferedBytes} bytes of frames wait for ${this.remote}, which acknowledges none`;
      const link = this.#link;
      this.send({ type: "close", code: "E_QUOTA", reason });
      this.#end({ code: "E_QUOTA", reason, byRemote: false });
      link?.close("E_QUOTA", reason);
      this.#pendingLink?.close("E_QUOTA", reason);
    });
  }

  #wakeDrained(): void {
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }

  /** Close for good: a close frame with the code and reason if a link is up, then the link. */
  close(code: string, reason: string): void {
    if (this.#closed) return;
    const link = this.#link;
    // Frames numbered before the close go out before it, window or not (no resend follows).
    this.#pump(true);
    this.send({ type: "close", code, reason });
    this.#end({ code, reason, byRemote: false });
    link?.close(code, reason);
    this.#pendingLink?.close(code, reason);
  }

  /** The session expired (grace passed, or the remote no longer has it): the remote is gone. */
  expire(reason: string): void {
    if (this.#closed) return;
    const code = SessionErrorCode.E_SESSION_EXPIRED;
    const link = this.#link;
    this.send({ type: "close", code, reason });
    this.#end({ code, reason, byRemote: true });
    link?.close(code, reason);
  }

  // ---- called by handshakes -----------------------------------------------------------------

  /** A handshake started on `link` for this session; its break counts like a link break. */
  bind(link: Link): void {
    this.#pendingLink = link;
  }

  /**
   * The handshake on `link` succeeded: continue the session on it. `remoteAck` is the highest
   * seq the remote holds; everything after it is resent, in order. Throws CapbusError when the
   * remote claims frames never sent or already released.
   */
  attach(link: Link, id: Uint8Array, remoteAck: number, hello: HelloFrame): void {
    if (this.#closed) return link.close(SessionErrorCode.E_SESSION_EXPIRED, "the session is over");
    const first = this.id === undefined;
    // A remote ack below what was already released is stale (its hello raced acks on the old
    // link): resending starts at the oldest frame still held either way.
    if (remoteAck > this.#writtenSeq) {
      throw new CapbusError("E_PROTOCOL", `resume after seq ${remoteAck}, but only ${this.#writtenSeq} sent`);
    }
    this.#cancelGrace?.();
    this.#cancelGrace = undefined;
    this.#detachedAt = undefined;
    const old = this.#link;
    this.id = id;
    this.#link = link;
    if (this.#pendingLink === link) this.#pendingLink = undefined;
    if (old && old !== link) old.close(SessionErrorCode.E_REPLACED, "the session resumed on a newer link");
    this.#release(remoteAck);
    if (!first) this.resumes++;
    // The hello reaches the peer once per session: resumes are invisible to it.
    if (first) this.#deliver({ ...hello, seq: 0 }, 0);
    // Resend what the remote lacks of the window, then go on with the queue (P6).
    for (let i = this.#head; i < this.#next && this.#link === link; i++) {
      this.#write(link, this.#frames[i]!.bytes);
    }
    this.#pump();
    // Told last: what the peer sends when told goes out after the frames resent and queued above.
    if (!this.#closed && this.#link === link) this.#handler.attached?.(this, !first);
  }

  /** One frame from the remote on `link` (a link a handshake attached). */
  receive(link: Link, bytes: Uint8Array): void {
    if (this.#closed || link !== this.#link) return;
    this.framesIn++;
    this.bytesIn += bytes.byteLength;
    const decoded = this.#codec.decodeFrame(bytes);
    if (!decoded.ok) return this.close(decoded.error.code, decoded.error.message);
    const frame = decoded.frame;
    if (frame.type === "close") {
      this.#end({ code: frame.code, reason: frame.reason, byRemote: true });
      link.close(frame.code, frame.reason);
      return;
    }
    if (frame.type === "hello" || frame.type === "auth") {
      return this.close("E_PROTOCOL", `${frame.type} after the handshake`);
    }
    if (frame.ack > this.#writtenSeq) {
      return this.close("E_PROTOCOL", `ack ${frame.ack} for frames never sent (last ${this.#writtenSeq})`);
    }
    if (this.#release(frame.ack)) this.#pump();
    if (frame.type === "ack") return;
    if (frame.seq <= this.#recvSeq) {
      this.duplicates++; // resent across a resume and already delivered: nothing twice (P6)
      return;
    }
    if (frame.seq !== this.#recvSeq + 1) {
      return this.close("E_SEQUENCE", `frame seq ${frame.seq}, expected ${this.#recvSeq + 1}`);
    }
    this.#recvSeq = frame.seq;
    this.#owe();
    this.#deliver(frame, decoded.decodedBytes);
  }

  /** `link` closed or broke. A break within the grace period waits for a resume. */
  linkClosed(link: Link, info: LinkClosedInfo): void {
    if (this.#closed) return;
    if (link === this.#pendingLink) this.#pendingLink = undefined;
    else if (link === this.#link) this.#link = undefined;
    else return;
    if (this.#link || this.#pendingLink) return;
    if (this.options.graceMs <= 0 || info.final) return this.#end(info);
    if (this.#cancelGrace) return;
    // Only an established session waits to be resumed; one still in its first handshake is a dial.
    if (this.id !== undefined) this.#detachedAt = this.options.runtime.now();
    this.#handler.detached?.(this, info);
    this.#cancelGrace = this.options.runtime.setTimer(this.options.graceMs, () => {
      this.#cancelGrace = undefined;
      if (!this.#link) this.expire(`no resume within ${this.options.graceMs} ms (${info.code})`);
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  #write(link: Link, bytes: Uint8Array): void {
    this.framesOut++;
    this.bytesOut += bytes.byteLength;
    link.send(bytes);
  }

  #deliver(frame: Frame, size: number): void {
    try {
      this.#handler.frame(this, frame, size);
    } catch (error) {
      if (error instanceof CapbusError) return this.close(error.code, error.message);
      if (error instanceof WireError) return this.close(error.code, error.message);
      throw error;
    }
  }

  /** Drop written frames up to `ack`: the remote holds them. True if any went (window room). */
  #release(ack: number): boolean {
    const before = this.#head;
    while (this.#head < this.#next && this.#frames[this.#head]!.seq <= ack) {
      this.#unackedBytes -= heldCost(this.#frames[this.#head]!.bytes);
      // Dropped at once, not at the next compaction: a frame is a view into the encoder's
      // shared 16 KiB buffer, and a kept one keeps that buffer alive.
      this.#frames[this.#head++] = RELEASED;
    }
    const released = this.#head > before;
    // Compact now and then rather than shifting per frame.
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#next -= this.#head;
      this.#head = 0;
    }
    return released;
  }

  /** A frame arrived: acknowledge soon, or at once after `ackEvery` of them. */
  #owe(): void {
    this.#ackOwed++;
    if (this.#ackOwed >= this.options.ackEvery) {
      this.send({ type: "ack" });
      return this.#acked();
    }
    this.#cancelAck ??= this.options.runtime.setTimer(this.options.ackDelayMs, () => {
      this.#cancelAck = undefined;
      if (this.#ackOwed > 0 && this.#link) {
        this.send({ type: "ack" });
        this.#ackOwed = 0;
      }
    });
  }

  #acked(): void {
    // The pending ack timer stays: it finds nothing owed and ends. Cancelling and re-arming it
    // for every outgoing frame cost a timer insert and removal per frame under a stream.
    this.#ackOwed = 0;
  }

  #end(info: LinkClosedInfo): void {
    this.#closed = true;
    this.#link = undefined;
    this.#cancelAck?.();
    this.#cancelGrace?.();
    this.#cancelAck = this.#cancelGrace = undefined;
    this.#frames = [];
    this.#head = this.#next = 0;
    this.#unackedBytes = this.#bufferedBytes = 0;
    this.#wakeDrained();
    this.#handler.closed(this, info);
  }
}
