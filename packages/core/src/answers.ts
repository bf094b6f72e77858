/**
 * The answer timeout at the sender (spec/guarantees.md §4.6): a participant that has not answered
 * a frame of one of this peer's events within the answer timeout is treated as lost. By the
 * causality rule (R1) an undecided event blocks every later event of this peer, to every peer;
 * closing the silent participant's session decides the event without it, as a lost link would.
 *
 * One timer per participant with frames outstanding, set for the earliest answer due: it is not
 * moved as answers come, and looks again when it fires.
 */

/** What the answer bookkeeping needs from its peer. */
export interface AnswerContext {
  now(): number;
  setTimer(ms: number, fn: () => void): () => void;
  /** Does `peer` still owe an answer for event `seq` (undecided, its part not answered)? */
  owes(peer: string, seq: number): boolean;
  /** `peer` left a frame unanswered past its time: end its session (E_ANSWER_TIMEOUT). */
  expire(peer: string): void;
}

/** No event in `Owed.oneSeq` (event numbers start at 1). */
const NONE = -1;

interface Owed {
  /**
   * The one answer owed while only one is (request/reply: one per round trip), held in fields:
   * a Map entry added and deleted per round trip cost a rehash of the Map every few.
   */
  oneSeq: number;
  oneDue: number;
  /** Event number -> when its answer is due: the others. */
  readonly due: Map<number, number>;
  cancel: (() => void) | undefined;
  /** When the pending check fires. */
  at: number;
}

export class Answers {
  readonly #owed = new Map<string, Owed>();
  readonly #ctx: AnswerContext;

  constructor(ctx: AnswerContext) {
    this.#ctx = ctx;
  }

  /** A frame of event `seq` went to `peer`; its answer is due within `timeoutMs`. */
  sent(peer: string, seq: number, timeoutMs: number): void {
    const now = this.#ctx.now();
    let owed = this.#owed.get(peer);
    if (!owed) {
      owed = { oneSeq: NONE, oneDue: 0, due: new Map(), cancel: undefined, at: Infinity };
      this.#owed.set(peer, owed);
    }
    if (owed.oneSeq === seq || owed.due.has(seq)) return;
    const due = now + timeoutMs;
    if (owed.oneSeq === NONE) {
      owed.oneSeq = seq;
      owed.oneDue = due;
    } else owed.due.set(seq, due);
    if (owed.at > due) this.#arm(peer, owed, due, now);
  }

  /**
   * `peer` answered event `seq` (or no longer takes part in it). The timer stays: when it fires
   * with nothing owed it goes, so a request/reply pattern does not set one per call.
   */
  answered(peer: string, seq: number): void {
    const owed = this.#owed.get(peer);
    if (owed === undefined) return;
    if (owed.oneSeq === seq) owed.oneSeq = NONE;
    else if (owed.due.size > 0) owed.due.delete(seq);
  }

  /**
   * `peer` answered events `first` to `first + count - 1` in one frame (a fast batch's accepts):
   * what it owed for them goes, looked up by whichever is fewer, the events or what is owed.
   */
  answeredRange(peer: string, first: number, count: number): void {
    const owed = this.#owed.get(peer);
    if (owed === undefined) return;
    if (owed.oneSeq >= first && owed.oneSeq < first + count) owed.oneSeq = NONE;
    const due = owed.due;
    if (due.size === 0) return;
    if (due.size < count) {
      for (const seq of due.keys()) if (seq >= first && seq < first + count) due.delete(seq);
    } else for (let seq = first; seq < first + count; seq++) due.delete(seq);
  }

  /** The session with `peer` ended: it owes nothing any more. */
  forget(peer: string): void {
    this.#owed.get(peer)?.cancel?.();
    this.#owed.delete(peer);
  }

  #arm(peer: string, owed: Owed, due: number, now: number): void {
    owed.cancel?.();
    owed.at = due;
    owed.cancel = this.#ctx.setTimer(Math.max(0, due - now), () => {
      owed.cancel = undefined;
      owed.at = Infinity;
      if (this.#owed.get(peer) === owed) this.#check(peer, owed);
    });
  }

  /** Drop what was answered or settled otherwise; cut the peer off if an answer is overdue. */
  #check(peer: string, owed: Owed): void {
    const now = this.#ctx.now();
    let next = Infinity;
    if (owed.oneSeq !== NONE) {
      if (!this.#ctx.owes(peer, owed.oneSeq)) owed.oneSeq = NONE;
      else next = owed.oneDue;
    }
    for (const [seq, due] of owed.due) {
      if (!this.#ctx.owes(peer, seq)) owed.due.delete(seq);
      else if (due < next) next = due;
    }
    if (next === Infinity) {
      this.#owed.delete(peer);
      return;
    }
    if (next <= now) return this.#ctx.expire(peer);
    this.#arm(peer, owed, next, now);
  }
}
