/**
 * Retained finals (spec/ordering.md §16 T3, spec/limits.md §4): the finals of multicasts
 * committed here, kept so that the events' other receivers can ask for them, each for `keepMs`
 * and at most `max` in all, charged to their senders: over the bound, the sender with the most
 * kept loses its oldest (a flooding sender only its own).
 *
 * A receiver retains every multicast it commits, so this is on the hot path of a stream: per
 * sender, parallel arrays in commit order (no object or Map entry per final), expired and evicted
 * from the front by moving an index; a lookup bisects while the sender's seqs rise (they do,
 * but for reconciliation's late commits), and scans otherwise.
 */
import type { FinalProof } from "./finals.js";

/** A kept final: its proof and the event's receivers (only they are told it). */
export interface RetainedFinal {
  readonly proof: FinalProof;
  readonly receivers: readonly string[];
}

/** Senders the sweep looks at per expiry pass (as the tombstones' sweep). */
const SWEEP_PER_PASS = 2;
/** A sender's arrays are compacted once this many slots at their front are spent. */
const COMPACT_AFTER = 1024;

/** One sender's finals, oldest first, from `head` on. */
class SenderFinals {
  seqs: number[] = [];
  proofs: (FinalProof | undefined)[] = [];
  receivers: (readonly string[] | undefined)[] = [];
  /** When each was committed here (Runtime ms). */
  ats: number[] = [];
  head = 0;
  /** Seqs rise from `head` to the end: a lookup can bisect. */
  rising = true;

  get size(): number {
    return this.seqs.length - this.head;
  }

  indexOf(seq: number): number {
    const seqs = this.seqs;
    if (this.rising) {
      let low = this.head;
      let high = seqs.length - 1;
      while (low <= high) {
        const mid = (low + high) >>> 1;
        const at = seqs[mid] as number;
        if (at === seq) return mid;
        if (at < seq) low = mid + 1;
        else high = mid - 1;
      }
      return -1;
    }
    for (let i = this.head; i < seqs.length; i++) if (seqs[i] === seq) return i;
    return -1;
  }

  /** Keep `seq`'s final; true if it is new (a final kept again is replaced where it stands). */
  keep(seq: number, proof: FinalProof, receivers: readonly string[], at: number): boolean {
    // Rising and above the last: new. Else it may be kept already.
    const last = this.seqs[this.seqs.length - 1] as number;
    if (this.size > 0 && (!this.rising || last >= seq)) {
      const i = this.indexOf(seq);
      if (i >= 0) {
        this.proofs[i] = proof;
        this.receivers[i] = receivers;
        this.ats[i] = at;
        return false;
      }
      this.rising = false;
    }
    this.seqs.push(seq);
    this.proofs.push(proof);
    this.receivers.push(receivers);
    this.ats.push(at);
    return true;
  }

  /** Forget the oldest. */
  dropOldest(): void {
    this.proofs[this.head] = undefined;
    this.receivers[this.head] = undefined;
    this.head++;
    if (this.size === 0) {
      this.seqs = [];
      this.proofs = [];
      this.receivers = [];
      this.ats = [];
      this.head = 0;
      this.rising = true;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.proofs = this.proofs.slice(this.head);
      this.receivers = this.receivers.slice(this.head);
      this.ats = this.ats.slice(this.head);
      this.head = 0;
    }
  }

  /** Forget those kept `keepMs` or longer (oldest first); how many went. */
  expire(now: number, keepMs: number): number {
    const before = this.size;
    while (this.size > 0 && now - (this.ats[this.head] as number) >= keepMs) this.dropOldest();
    return before - this.size;
  }
}

export class RetainedFinals {
  readonly #bySender = new Map<string, SenderFinals>();
  readonly #keepMs: number;
  readonly #max: number;
  #size = 0;
  /** When expiry last looked (#keep). */
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(keepMs: number, max: number) {
    this.#keepMs = keepMs;
    this.#max = max;
  }

  /** Finals kept. */
  get size(): number {
    return this.#size;
  }

  get(sender: string, seq: number): RetainedFinal | undefined {
    const finals = this.#bySender.get(sender);
    const i = finals ? finals.indexOf(seq) : -1;
    if (!finals || i < 0) return undefined;
    return { proof: finals.proofs[i] as FinalProof, receivers: finals.receivers[i] as readonly string[] };
  }

  keep(sender: string, seq: number, receivers: readonly string[], proof: FinalProof, now: number): void {
    let finals = this.#bySender.get(sender);
    if (!finals) {
      finals = new SenderFinals();
      this.#bySender.set(sender, finals);
    }
    if (finals.keep(seq, proof, receivers, now)) this.#size++;
    // Expiry looks at most once per ms (a round batch commits up to 64 finals in one go): a final
    // may outlive keepMs by that much, never fall short of it; the count bound acts at once.
    if (now - this.#sweptAt >= 1 || now < this.#sweptAt) {
      this.#sweptAt = now;
      this.#expire(sender, finals, now);
      this.#sweep(now, sender);
    }
    while (this.#size > this.#max) this.#evict();
  }

  /** Expire `sender`'s finals; false if none are left (it is forgotten). */
  #expire(sender: string, finals: SenderFinals, now: number): boolean {
    this.#size -= finals.expire(now, this.#keepMs);
    if (finals.size > 0) return true;
    this.#bySender.delete(sender);
    return false;
  }

  /**
   * A few senders from the front expire per pass and go to the back (as tombstones do);
   * `expired`: the sender just expired.
   */
  #sweep(now: number, expired: string): void {
    // Only the sender just expired (a receiver of one multicaster): nothing to do, and moving it
    // to the back would delete and re-add the one key.
    if (this.#bySender.size === 1 && this.#bySender.has(expired)) return;
    for (let i = 0; i < SWEEP_PER_PASS; i++) {
      const front = this.#bySender.entries().next();
      if (front.done) return;
      const [sender, finals] = front.value;
      if (!this.#expire(sender, finals, now)) continue;
      this.#bySender.delete(sender);
      this.#bySender.set(sender, finals);
    }
  }

  /** Over the bound: the sender with the most finals kept loses its oldest. */
  #evict(): void {
    let most: SenderFinals | undefined;
    let who = "";
    for (const [sender, finals] of this.#bySender) {
      if (!most || finals.size > most.size) {
        most = finals;
        who = sender;
      }
    }
    if (!most) return;
    most.dropOldest();
    this.#size--;
    if (most.size === 0) this.#bySender.delete(who);
  }
}
