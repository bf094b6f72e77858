/**
 * Reconciliation (spec/ordering.md §16): a destination whose session with a multicast's sender
 * ended while it held the event staged keeps it staged (still blocking its queue) and asks the
 * event's other receivers what became of it (T2); receivers answer from what they hold (T3), relay
 * a final they learn later to those they told `fenced` (R5), and the asker decides (T4). Finals
 * of committed multicasts are kept for the time an asker may still come, and at most a bounded
 * number, charged to their senders (spec/limits.md §4).
 */
import type { TraceRecord } from "@capbus/trace";
import type { CommittedFrame } from "@capbus/wire";
import { CoreErrorCode } from "./errors.js";
import type { FinalProof } from "./finals.js";
import { covers, validFinal } from "./finals.js";
import type { LogFields } from "./observe.js";
import { RetainedFinals } from "./retained.js";
import type { FrameBody, LinkSession } from "./session.js";

/** Retained finals kept at most (spec/limits.md §4). */
export const MAX_RETAINED_FINALS = 65_536;

/** How a reconciliation ended (the trace record's `outcome`, spec/trace.md §3). */
export type ReconcileOutcome = "committed" | "dropped" | "fallback";

/** A staged entry as reconciliation sees it. */
export interface StagedView {
  readonly proposal: number;
  readonly receivers: readonly string[];
}

/** What reconciliation needs from its peer. */
export interface ReconcileContext {
  readonly id: string;
  now(): number;
  /** How long a committed multicast's final is kept for askers (spec/ordering.md §16 T3). */
  readonly keepMs: number;
  readonly maxRetained: number;
  /** The established session with `peer`, if any. */
  session(peer: string): LinkSession | undefined;
  /** An established session with `peer`, dialling it if need be (rejects: given up). */
  reach(peer: string): Promise<LinkSession>;
  /** Is there a session (live or detached within its grace) with `peer`? */
  linked(peer: string): boolean;
  /** `sender`'s event `seq`, staged here and not committed, if it is. */
  staged(sender: string, seq: number): StagedView | undefined;
  /** Has `sender` staged `seq` or a later round here in its session (so `seq` will not come)? */
  stagedBeyond(sender: string, seq: number): boolean;
  setTimer(ms: number, fn: () => void): () => void;
  /** Commit the staged entry at the proof's final (C1, delivery): T4's commit. */
  commit(sender: string, seq: number, proof: FinalProof): void;
  /** Remove the staged entry: T4's drop. */
  drop(sender: string, seq: number): void;
  trace(record: TraceRecord): void;
  /** A refused answer, or a decision (logging). */
  warn(message: string, fields: LogFields): void;
  closed(): boolean;
}

/** One event this peer asks about (T2). */
interface Asking {
  readonly sender: string;
  readonly seq: number;
  /** The key `sender` proved in its handshake here (empty: unkeyed). */
  readonly key: Uint8Array;
  readonly proposal: number;
  readonly receivers: readonly string[];
  /** Receivers asked that have not answered `fenced` or `gone`, nor been given up. */
  readonly waiting: Set<string>;
  /** A receiver was given up (its session ended, a dial failed, an answer refused). */
  givenUp: boolean;
  /** `committed` answers being verified: no drop while one may still show the final. */
  verifying: number;
  /** Peers this one answered `fenced` (R5: they get `committed` if it commits). */
  readonly fencedTo: Set<string>;
  /** Cancels the query timeout (T4: receivers silent that long are given up). */
  cancel: () => void;
}

/** Askers waiting on this peer's answer about `sender`'s event `seq` (T3: deferred). */
interface Deferred {
  readonly sender: string;
  readonly seq: number;
  readonly askers: Set<string>;
}

const key = (sender: string, seq: number) => `${sender}\u0000${seq}`;

export class Reconciler {
  readonly #ctx: ReconcileContext;
  readonly #asking = new Map<string, Asking>();
  /** Askers waiting for an event staged here while the session with its sender lasts (T3). */
  readonly #deferred = new Map<string, Deferred>();
  /** Finals of multicasts committed here, kept for their other receivers. */
  readonly #retained: RetainedFinals;
  /** Decisions by outcome (Peer.stats().reconciliations). */
  readonly counts = { committed: 0, dropped: 0, fallback: 0 };

  constructor(ctx: ReconcileContext) {
    this.#ctx = ctx;
    this.#retained = new RetainedFinals(ctx.keepMs, ctx.maxRetained);
  }

  /** Retained finals held (stats). */
  get retained(): number {
    return this.#retained.size;
  }

  /** Events this peer is asking about now. */
  get asking(): number {
    return this.#asking.size;
  }

  /** Is `sender`'s event `seq` being reconciled here (kept staged, its stage timeout done)? */
  reconciling(sender: string, seq: number): boolean {
    return this.#asking.has(key(sender, seq));
  }

  /**
   * T2: the session with `sender` ended while this peer held `seq` staged. Returns false when
   * there is nobody to ask (the caller drops it, a fallback when the sender was its one other
   * receiver).
   */
  start(
    sender: string,
    seq: number,
    staged: StagedView,
    senderKey: Uint8Array,
    learn: (peer: string) => void,
  ): boolean {
    if (this.#ctx.closed()) return false;
    const others = staged.receivers.filter((r) => r !== this.#ctx.id && r !== sender);
    const k = key(sender, seq);
    if (others.length === 0) {
      // A multicast whose only other receiver was its sender: nobody can tell (W1, counted).
      if (staged.receivers.some((r) => r !== this.#ctx.id)) this.#decided(sender, seq, "fallback");
      this.#answerDeferred(k, sender, seq, "gone");
      return false;
    }
    const asking: Asking = {
      sender,
      seq,
      key: senderKey,
      proposal: staged.proposal,
      receivers: staged.receivers,
      waiting: new Set(others),
      // A sender that is a receiver too may have committed e at its own node, and it cannot be
      // asked: a drop then is a fallback, never a sure `dropped`.
      givenUp: staged.receivers.includes(sender),
      verifying: 0,
      fencedTo: new Set(),
      cancel: () => {},
    };
    this.#asking.set(k, asking);
    // A receiver that keeps its session but never answers would block this queue for good: past
    // the longest an honest deferral lasts (the retention time), it is given up.
    asking.cancel = this.#ctx.setTimer(this.#ctx.keepMs, () => {
      for (const peer of [...asking.waiting]) this.#giveUp(asking, peer);
    });
    // Those who waited on this peer's session with the sender hear `fenced` now (T3), and get
    // the final later if it commits here (R5).
    const deferred = this.#deferred.get(k);
    this.#deferred.delete(k);
    for (const peer of deferred?.askers ?? []) {
      asking.fencedTo.add(peer);
      this.#send(peer, { type: "fenced", sender, event: seq });
    }
    for (const peer of others) {
      // The sender's endpoint hints for its co-destinations (T1) are taken now, before they go.
      if (!this.#ctx.session(peer)) learn(peer);
      this.#ask(asking, peer);
    }
    return true;
  }

  #ask(asking: Asking, peer: string): void {
    const frame: FrameBody = { type: "query", sender: asking.sender, event: asking.seq };
    const session = this.#ctx.session(peer);
    if (session) return session.send(frame);
    this.#ctx.reach(peer).then(
      (s) => {
        if (this.#asking.get(key(asking.sender, asking.seq)) === asking && asking.waiting.has(peer))
          s.send(frame);
      },
      () => this.#giveUp(asking, peer),
    );
  }

  /** The peer closed: nothing more is asked or decided, and no timer is left running. */
  close(): void {
    for (const asking of this.#asking.values()) asking.cancel();
    this.#asking.clear();
    this.#deferred.clear();
  }

  /** A `query` from `from` (T3): answer from what this peer holds, or defer while the sender is linked. */
  query(from: string, sender: string, seq: number): void {
    const k = key(sender, seq);
    const kept = this.#retained.get(sender, seq);
    if (kept) {
      // Only a listed receiver learns the final; anyone else hears what an unknown event gets.
      if (kept.receivers.includes(from)) return this.#send(from, committedFrame(sender, seq, kept.proof));
      return this.#send(from, { type: "gone", sender, event: seq });
    }
    const staged = this.#ctx.staged(sender, seq);
    if (sender === this.#ctx.id) return this.#send(from, { type: "gone", sender, event: seq });
    if (!staged) {
      // A query can overtake the sender's stage: while the session with the sender lasts and it
      // has staged no later round here, the stage may still come, and then a commit.
      if (this.#ctx.linked(sender) && !this.#ctx.stagedBeyond(sender, seq))
        return this.#defer(k, sender, seq, from);
      return this.#send(from, { type: "gone", sender, event: seq });
    }
    if (!staged.receivers.includes(from)) return this.#send(from, { type: "gone", sender, event: seq });
    const asking = this.#asking.get(k);
    if (asking || !this.#ctx.linked(sender)) {
      asking?.fencedTo.add(from);
      return this.#send(from, { type: "fenced", sender, event: seq });
    }
    this.#defer(k, sender, seq, from);
  }

  #defer(k: string, sender: string, seq: number, from: string): void {
    const deferred = this.#deferred.get(k) ?? { sender, seq, askers: new Set<string>() };
    deferred.askers.add(from);
    this.#deferred.set(k, deferred);
  }

  /**
   * `sender` staged rounds up to `seq` here: a deferral for a lower number that is not staged
   * here now is answered `gone` (its stage is not coming, T3).
   */
  stagedThrough(sender: string, seq: number): void {
    if (this.#deferred.size === 0) return;
    for (const [k, deferred] of this.#deferred) {
      if (deferred.sender !== sender || deferred.seq > seq || this.#ctx.staged(sender, deferred.seq))
        continue;
      this.#deferred.delete(k);
      this.#answer(deferred, { type: "gone", sender, event: deferred.seq });
    }
  }

  /**
   * `sender`'s event `seq` was settled here by the sender (or by reconciliation): committed with
   * `proof`, or removed (undefined). Askers deferred for it hear it now; a final is retained.
   */
  settled(sender: string, seq: number, receivers: readonly string[], proof: FinalProof | undefined): void {
    if (proof) this.#retained.keep(sender, seq, receivers, proof, this.#ctx.now());
    // Every multicast committed here passes by: no key or answer is built unless someone waits.
    if (this.#deferred.size === 0) return;
    const k = key(sender, seq);
    const deferred = this.#deferred.get(k);
    this.#deferred.delete(k);
    if (deferred)
      this.#answer(
        deferred,
        proof ? committedFrame(sender, seq, proof) : { type: "gone", sender, event: seq },
      );
  }

  #answer(deferred: Deferred, frame: FrameBody): void {
    for (const peer of deferred.askers) this.#send(peer, frame);
  }

  /** An answer to a query of this peer's (T4). */
  answered(
    from: string,
    frame: CommittedFrame | { type: "fenced" | "gone"; sender: string; event: number },
  ): void {
    const asking = this.#asking.get(key(frame.sender, frame.event));
    if (!asking) return; // decided already (a late answer, an R5 relay), or never asked: nothing to do
    if (!asking.receivers.includes(from) || from === asking.sender) {
      if (frame.type === "committed")
        this.#refused(asking, from, "the answering peer is not a listed receiver");
      return;
    }
    if (frame.type !== "committed") {
      asking.waiting.delete(from);
      return this.#check(asking);
    }
    const proof = proofOf(frame);
    if (!covers(proof, asking.seq)) return this.#refused(asking, from, "the final is for another event");
    asking.verifying++;
    validFinal(asking.sender, asking.key, asking.seq, proof).then(
      (ok) => this.#verified(asking, from, proof, ok),
      () => this.#verified(asking, from, proof, false),
    );
  }

  #verified(asking: Asking, from: string, proof: FinalProof, ok: boolean): void {
    asking.verifying--;
    if (this.#asking.get(key(asking.sender, asking.seq)) !== asking) return;
    if (!ok) return this.#refused(asking, from, "the sender's signature does not verify");
    // A final below this peer's proposal: the sender decided without it (T4, P4(a)).
    if (proof.lamport < asking.proposal) return this.#finish(asking, "dropped");
    this.#asking.delete(key(asking.sender, asking.seq));
    asking.cancel();
    this.#ctx.commit(asking.sender, asking.seq, proof);
    this.#decided(asking.sender, asking.seq, "committed");
    for (const peer of asking.fencedTo) this.#send(peer, committedFrame(asking.sender, asking.seq, proof));
  }

  /** A forged or malformed `committed` (spec/errors.md E_BAD_FINAL): it changes nothing but `from`'s standing. */
  #refused(asking: Asking, from: string, why: string): void {
    this.#ctx.warn("reconciliation answer refused", {
      remote: from,
      code: CoreErrorCode.E_BAD_FINAL,
      event: `${asking.sender}:${asking.seq}`,
      reason: why,
    });
    if (asking.waiting.delete(from)) asking.givenUp = true;
    this.#check(asking);
  }

  /**
   * The session with `peer` ended: receivers asked there are given up, its deferrals forgotten.
   * Deferrals for `peer`'s own events still here are for rounds it never staged here (those
   * staged were handed to T2 first): they will not come now, `gone`.
   */
  sessionEnded(peer: string): void {
    for (const asking of [...this.#asking.values()]) if (asking.waiting.has(peer)) this.#giveUp(asking, peer);
    for (const [k, deferred] of this.#deferred) {
      deferred.askers.delete(peer);
      if (deferred.sender === peer)
        this.#answer(deferred, { type: "gone", sender: peer, event: deferred.seq });
      if (deferred.askers.size === 0 || deferred.sender === peer) this.#deferred.delete(k);
    }
  }

  #giveUp(asking: Asking, peer: string): void {
    if (!asking.waiting.delete(peer)) return;
    asking.givenUp = true;
    this.#check(asking);
  }

  /** T4: drop once every other receiver answered `fenced`/`gone` or was given up. */
  #check(asking: Asking): void {
    if (asking.waiting.size > 0 || asking.verifying > 0) return;
    this.#finish(asking, asking.givenUp ? "fallback" : "dropped");
  }

  #finish(asking: Asking, outcome: "dropped" | "fallback"): void {
    const k = key(asking.sender, asking.seq);
    if (this.#asking.get(k) !== asking) return;
    this.#asking.delete(k);
    asking.cancel();
    this.#decided(asking.sender, asking.seq, outcome);
    this.#ctx.drop(asking.sender, asking.seq);
  }

  #decided(sender: string, seq: number, outcome: ReconcileOutcome): void {
    this.counts[outcome]++;
    this.#ctx.trace({
      peer: this.#ctx.id,
      op: "reconcile",
      event: `${sender}:${seq}`,
      from: sender,
      outcome,
    });
  }

  #answerDeferred(k: string, sender: string, seq: number, type: "gone" | "fenced"): void {
    const deferred = this.#deferred.get(k);
    this.#deferred.delete(k);
    if (deferred) this.#answer(deferred, { type, sender, event: seq });
  }

  #send(peer: string, frame: FrameBody): void {
    if (this.#ctx.closed()) return;
    this.#ctx.session(peer)?.send(frame);
  }
}

function committedFrame(sender: string, seq: number, proof: FinalProof): FrameBody {
  return {
    type: "committed",
    sender,
    event: seq,
    lamport: proof.lamport,
    dead: [...proof.dead],
    sig: proof.sig,
    first: proof.first,
    last: proof.last,
    skip: [...proof.skip],
  };
}

function proofOf(frame: CommittedFrame): FinalProof {
  return {
    lamport: frame.lamport,
    first: frame.first,
    last: frame.last,
    skip: frame.skip,
    dead: frame.dead,
    sig: frame.sig,
  };
}
