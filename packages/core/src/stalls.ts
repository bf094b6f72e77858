/**
 * Time bounds per sender at a destination (spec/guarantees.md §4.5): how long one sender may
 * keep entries staged in this peer's queue. Two limits, checked by one timer per sender:
 *
 * - one entry staged for `stageTimeoutMs` (the sender never commits it);
 * - a _stall budget_ across chained entries: while the sender's oldest staged entry here is
 *   older than `stallMs`, its stall count rises by the time that passes; otherwise it falls at
 *   the same rate, down to 0. It must stay below `stageTimeoutMs`. A sender that commits each
 *   entry 40 s after staging it, and stages a new one every second, never holds one entry for
 *   the stage timeout but holds the head of the queue all the time: its count rises without end.
 *   An honest sender whose rounds commit within `stallMs` never counts; one that waits out a
 *   broken link counts for that wait (T2 bounds it), and pays it back as fast once it flows.
 *
 * The count is per sender, not per head: two senders taking turns at the head both count.
 */

/** What the stall bookkeeping needs from its peer. */
export interface StallContext {
  readonly stageTimeoutMs: number;
  readonly stallMs: number;
  now(): number;
  setTimer(ms: number, fn: () => void): () => void;
  /** The sender went over a limit: end its session (E_STAGE_TIMEOUT). */
  expire(sender: string): void;
}

interface SenderStalls {
  /** Its entries staged here and when, oldest first (the clock only grows). */
  readonly staged: Map<object, number>;
  /**
   * The oldest staged entry and when it was staged (undefined: none), kept beside `staged`: read
   * at every stage and commit, and an iterator over the Map to find it cost two objects each time.
   */
  oldestEntry: object | undefined;
  oldest: number | undefined;
  /** The stall count (ms) at `at`. */
  count: number;
  at: number;
  /** The pending check and when it is due. */
  cancel: (() => void) | undefined;
  due: number;
}

export class Stalls {
  readonly #senders = new Map<string, SenderStalls>();
  readonly #ctx: StallContext;

  constructor(ctx: StallContext) {
    this.#ctx = ctx;
  }

  /** `entry` of `sender` is staged here from now. */
  staged(sender: string, entry: object): void {
    const now = this.#ctx.now();
    let s = this.#senders.get(sender);
    if (!s) {
      s = {
        staged: new Map(),
        oldestEntry: undefined,
        oldest: undefined,
        count: 0,
        at: now,
        cancel: undefined,
        due: Infinity,
      };
      this.#senders.set(sender, s);
    }
    this.#advance(s, now);
    s.staged.set(entry, now);
    if (s.oldestEntry === undefined) {
      s.oldestEntry = entry;
      s.oldest = now;
    }
    this.#schedule(sender, s, now, false);
  }

  /** `entry` of `sender` is committed or removed. */
  settled(sender: string, entry: object): void {
    const s = this.#senders.get(sender);
    if (!s?.staged.has(entry)) return;
    const now = this.#ctx.now();
    this.#advance(s, now);
    s.staged.delete(entry);
    if (entry === s.oldestEntry) {
      s.oldestEntry = undefined;
      s.oldest = undefined;
      for (const [next, at] of s.staged) {
        s.oldestEntry = next;
        s.oldest = at;
        break;
      }
    }
    this.#schedule(sender, s, now, false);
  }

  /** The sender's session ended: its staged entries are gone, and so is its count. */
  forget(sender: string): void {
    this.#senders.get(sender)?.cancel?.();
    this.#senders.delete(sender);
  }

  /** Bring the count up to `now`; the oldest entry has not changed since `s.at`. */
  #advance(s: SenderStalls, now: number): void {
    const span = now - s.at;
    if (span <= 0) return;
    const oldest = s.oldest;
    // Before the oldest entry is `stallMs` old the count falls; after, it rises.
    const calm = oldest === undefined ? span : clamp(oldest + this.#ctx.stallMs - s.at, 0, span);
    s.count = Math.max(0, s.count - calm) + (span - calm);
    s.at = now;
  }

  /**
   * Check again when the sender would reach a limit; cut it off if it has. Only the timer cuts
   * (`check`): a stage or commit being handled must not end its own session under it.
   */
  #schedule(sender: string, s: SenderStalls, now: number, check: boolean): void {
    const oldest = s.oldest;
    if (oldest === undefined) {
      // A sender whose every event commits empties and refills its staged set each event: the
      // record and its armed check stay (a check finding nothing staged does nothing, and one
      // due before the next entry's limits just looks again), rather than a new record, Map and
      // timer per event. The check, or `forget`, lets the record go once nothing is counted.
      if (check && s.count === 0) this.#senders.delete(sender);
      return;
    }
    const { stageTimeoutMs, stallMs } = this.#ctx;
    const stallsAt = oldest + stallMs;
    // The count reaches the limit `stageTimeoutMs - count` after it starts rising.
    const countLeft = now >= stallsAt ? s.count : Math.max(0, s.count - (stallsAt - now));
    const due = Math.min(oldest + stageTimeoutMs, Math.max(now, stallsAt) + stageTimeoutMs - countLeft);
    if (due <= now && check) return this.#ctx.expire(sender);
    // Limits only move later while entries remain: a check already due earlier just looks again.
    if (s.cancel && s.due <= due) return;
    s.cancel?.();
    s.due = due;
    s.cancel = this.#ctx.setTimer(Math.max(0, due - now), () => {
      s.cancel = undefined;
      s.due = Infinity;
      if (this.#senders.get(sender) !== s) return;
      const at = this.#ctx.now();
      this.#advance(s, at);
      this.#schedule(sender, s, at, true);
    });
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
