/**
 * How much of a peer's incoming queue one sender may fill (spec/limits.md §4). Half of the queue
 * is set aside as reserves: each of the first `reservedSenders` peers linked (in the order their
 * sessions started) may always queue up to its reserve, `1 / (2 × reservedSenders)` of the queue,
 * whatever others do. The other half is a pool shared after bus1's rule: what a sender queues
 * beyond its reserve (all it queues, for one without a reserve) may be at most half of what the
 * other senders left of the pool. One flooding sender so takes at most its reserve and half the
 * pool, and fresh keys (Sybils) cannot take the reserve of a sender linked before them (issue 17:
 * under the half-share rule alone each new key halved the others' share, and 8 keys got an
 * established sender refused). Entries count from staging until the application reads the
 * delivered event; their size is a bound on the decoded frame's memory, not its wire bytes.
 */
export interface QuotaLimits {
  /** Undelivered or unread events from other peers, in all. @default 65536 */
  readonly maxQueuedEvents?: number;
  /** The memory their decoded frames take, bounded by the codec's estimate, in all. @default 67108864 (64 MiB) */
  readonly maxQueuedBytes?: number;
  /**
   * Senders with a reserved share, the first linked (0: no reserves, the half-share rule over the
   * whole queue). @default 64
   */
  readonly reservedSenders?: number;
}

interface Usage {
  events: number;
  bytes: number;
}

export class Quota {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #slots: number;
  /** One sender's reserve, in events and bytes. */
  readonly #reserveEvents: number;
  readonly #reserveBytes: number;
  /** The pool: what is not set aside as reserves. */
  readonly #poolEvents: number;
  readonly #poolBytes: number;
  readonly #bySender = new Map<string, Usage>();
  /** Senders holding a reserve: linked, or unlinked with events still charged. */
  readonly #reserved = new Set<string>();
  /** Linked senders waiting for a reserve, in the order their sessions started. */
  readonly #waiting = new Set<string>();
  readonly #linked = new Set<string>();
  #events = 0;
  #bytes = 0;
  /** What senders queue beyond their reserves: the pool in use. */
  #overEvents = 0;
  #overBytes = 0;

  constructor(limits: QuotaLimits = {}) {
    this.#maxEvents = limits.maxQueuedEvents ?? 65_536;
    this.#maxBytes = limits.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.#slots = limits.reservedSenders ?? 64;
    if (!Number.isSafeInteger(this.#slots) || this.#slots < 0) {
      throw new RangeError(`reservedSenders must be a non-negative integer, got ${this.#slots}`);
    }
    this.#reserveEvents = this.#slots === 0 ? 0 : Math.floor(this.#maxEvents / (2 * this.#slots));
    this.#reserveBytes = this.#slots === 0 ? 0 : Math.floor(this.#maxBytes / (2 * this.#slots));
    this.#poolEvents = this.#maxEvents - this.#slots * this.#reserveEvents;
    this.#poolBytes = this.#maxBytes - this.#slots * this.#reserveBytes;
  }

  /** Events and bytes held in all. */
  get used(): { readonly events: number; readonly bytes: number } {
    return { events: this.#events, bytes: this.#bytes };
  }

  /** Does `sender` hold a reserved share? */
  reserved(sender: string): boolean {
    return this.#reserved.has(sender);
  }

  /** A session with `sender` started: it takes a free reserve, or waits for one. */
  join(sender: string): void {
    if (this.#linked.has(sender)) return;
    this.#linked.add(sender);
    if (this.#reserved.has(sender)) return; // still held from its last session
    if (this.#reserved.size < this.#slots) this.#reserve(sender);
    else this.#waiting.add(sender);
  }

  /** The session with `sender` ended: its reserve goes once its charges are gone. */
  leave(sender: string): void {
    if (!this.#linked.delete(sender)) return;
    this.#waiting.delete(sender);
    const mine = this.#bySender.get(sender);
    if (mine !== undefined && mine.events > 0) return; // its reserve goes with its last charge
    this.#bySender.delete(sender);
    this.#unreserve(sender);
  }

  /** Charge one event of `bytes` to `sender` if its share allows; false: refuse it (E_QUOTA). */
  charge(sender: string, bytes: number): boolean {
    const mine = this.#bySender.get(sender) ?? { events: 0, bytes: 0 };
    if (this.#events + 1 > this.#maxEvents || this.#bytes + bytes > this.#maxBytes) return false;
    const reserved = this.#reserved.has(sender);
    const events = mine.events + 1;
    const size = mine.bytes + bytes;
    const overEvents = this.#over(events, this.#reserveEvents, reserved);
    const overBytes = this.#over(size, this.#reserveBytes, reserved);
    const wasEvents = this.#over(mine.events, this.#reserveEvents, reserved);
    const wasBytes = this.#over(mine.bytes, this.#reserveBytes, reserved);
    // Within its reserve a sender is never refused; beyond it, the half-share rule over the pool.
    if (overEvents > wasEvents && overEvents > (this.#poolEvents - (this.#overEvents - wasEvents)) / 2)
      return false;
    if (overBytes > wasBytes && overBytes > (this.#poolBytes - (this.#overBytes - wasBytes)) / 2)
      return false;
    mine.events = events;
    mine.bytes = size;
    this.#bySender.set(sender, mine);
    this.#events++;
    this.#bytes += bytes;
    this.#overEvents += overEvents - wasEvents;
    this.#overBytes += overBytes - wasBytes;
    return true;
  }

  /** The event left the queue (read by the application, or dropped). */
  discharge(sender: string, bytes: number): void {
    const mine = this.#bySender.get(sender);
    if (!mine) return;
    this.#move(sender, mine, -1, -bytes);
    // A linked sender's entry stays at zero: request/reply charges and discharges one event per
    // round trip, and a Map entry added and deleted each time rehashes the Map every few.
    if (mine.events > 0 || this.#linked.has(sender)) return;
    this.#bySender.delete(sender);
    this.#unreserve(sender);
  }

  /** What of `used` lies beyond the reserve (all of it without one). */
  #over(used: number, reserve: number, reserved: boolean): number {
    return reserved ? Math.max(0, used - reserve) : used;
  }

  #move(sender: string, mine: Usage, events: number, bytes: number): void {
    const reserved = this.#reserved.has(sender);
    this.#overEvents -= this.#over(mine.events, this.#reserveEvents, reserved);
    this.#overBytes -= this.#over(mine.bytes, this.#reserveBytes, reserved);
    mine.events += events;
    mine.bytes += bytes;
    this.#events += events;
    this.#bytes += bytes;
    this.#overEvents += this.#over(mine.events, this.#reserveEvents, reserved);
    this.#overBytes += this.#over(mine.bytes, this.#reserveBytes, reserved);
  }

  /** `sender` takes a reserve: what it already queued counts against the pool only beyond it. */
  #reserve(sender: string): void {
    this.#reserved.add(sender);
    const mine = this.#bySender.get(sender);
    if (!mine) return;
    this.#overEvents -= mine.events - this.#over(mine.events, this.#reserveEvents, true);
    this.#overBytes -= mine.bytes - this.#over(mine.bytes, this.#reserveBytes, true);
  }

  /** `sender` gives up its reserve; the longest-waiting linked sender takes it. */
  #unreserve(sender: string): void {
    if (!this.#reserved.delete(sender)) return;
    for (const next of this.#waiting) {
      this.#waiting.delete(next);
      this.#reserve(next);
      return;
    }
  }
}
