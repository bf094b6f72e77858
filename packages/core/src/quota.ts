/**
 * How much of a peer's incoming queue one sender may fill (spec/limits.md §Quotas). After bus1:
 * a sender may hold at most half of what the other senders have left, in events and in bytes,
 * so one flooding sender can take at most half the queue and the others always find room.
 * Entries count from staging until the application reads the delivered event.
 */
export interface QuotaLimits {
  /** Undelivered or unread events from other peers, in all. @default 65536 */
  readonly maxQueuedEvents?: number;
  /** Their frame bytes, in all. @default 67108864 (64 MiB) */
  readonly maxQueuedBytes?: number;
}

interface Usage {
  events: number;
  bytes: number;
}

export class Quota {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #bySender = new Map<string, Usage>();
  #events = 0;
  #bytes = 0;

  constructor(limits: QuotaLimits = {}) {
    this.#maxEvents = limits.maxQueuedEvents ?? 65_536;
    this.#maxBytes = limits.maxQueuedBytes ?? 64 * 1024 * 1024;
  }

  /** Events and bytes held in all. */
  get used(): { readonly events: number; readonly bytes: number } {
    return { events: this.#events, bytes: this.#bytes };
  }

  /** Charge one event of `bytes` to `sender` if its share allows; false: refuse it (E_QUOTA). */
  charge(sender: string, bytes: number): boolean {
    const mine = this.#bySender.get(sender) ?? { events: 0, bytes: 0 };
    const othersEvents = this.#events - mine.events;
    const othersBytes = this.#bytes - mine.bytes;
    if (mine.events + 1 > (this.#maxEvents - othersEvents) / 2) return false;
    if (mine.bytes + bytes > (this.#maxBytes - othersBytes) / 2) return false;
    mine.events++;
    mine.bytes += bytes;
    this.#bySender.set(sender, mine);
    this.#events++;
    this.#bytes += bytes;
    return true;
  }

  /** The event left the queue (read by the application, or dropped). */
  discharge(sender: string, bytes: number): void {
    const mine = this.#bySender.get(sender);
    if (!mine) return;
    mine.events--;
    mine.bytes -= bytes;
    this.#events--;
    this.#bytes -= bytes;
    if (mine.events <= 0) this.#bySender.delete(sender);
  }
}
