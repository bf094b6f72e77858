/**
 * A final or proposed timestamp `(lamport, sender peer id, sender seq)`, compared in that order
 * (spec/ordering.md §1). The tie-break part belongs to the event and is fixed at staging,
 * so a proposal and a final of different events compare the same way at every peer.
 */
import { CapbusError } from "./errors.js";

/**
 * An event's place in the global order: lamport clock, then the sender's peer id, then the sender's seq
 * break ties (spec/ordering.md).
 */
export interface Timestamp {
  readonly lamport: number;
  readonly peer: string;
  readonly seq: number;
}

/** Peer ids compare by UTF-16 code unit; ids are ASCII, so this equals byte order. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1;
  if (a.peer !== b.peer) return a.peer < b.peer ? -1 : 1;
  return a.seq - b.seq;
}

/** Counter values per millisecond of the hybrid clock: C = P * 2^11 + c (spec/ordering.md §2 H1). */
export const TICKS_PER_MS = 2 ** 11;
/** The adopt offset's default: values up to 5 s ahead of the local wall clock apply at once (H2). */
export const DEFAULT_CLOCK_ADOPT_MS = 5_000;
/** The refuse offset's default: a value more than 35 s ahead closes the link with E_CLOCK_SKEW (H2). */
export const DEFAULT_CLOCK_REFUSE_MS = 35_000;

/** The two offsets of rule H2, in ms: both resolved by resolveTimeouts (spec/limits.md §3.1 T4). */
export interface ClockBounds {
  readonly clockAdoptMs: number;
  readonly clockRefuseMs: number;
}

/**
 * The peer's hybrid logical clock (spec/ordering.md §2): one 53-bit integer, Unix milliseconds
 * times 2^11 plus a counter, so timestamps and the queue compare plain numbers as before. It
 * moves past every value it is allowed to see (C1) and ticks for each proposal and final (H1a).
 * Multiplying and dividing by 2^11, not shifting: bit operators are 32-bit in JavaScript.
 */
export class HybridClock {
  value = 0;
  readonly #wall: () => number;
  readonly #bounds: ClockBounds;
  /** The largest wall time read so far: `now` never runs backwards (H1). */
  #now = 0;

  constructor(wall: () => number, bounds: ClockBounds) {
    this.#wall = wall;
    this.#bounds = bounds;
  }

  /** The H2 offsets this clock applies. */
  get bounds(): ClockBounds {
    return this.#bounds;
  }

  /** Wall milliseconds, never below an earlier reading (a clock stepping back freezes it). */
  now(): number {
    const wall = Math.floor(this.#wall());
    if (wall > this.#now) this.#now = wall;
    return this.#now;
  }

  /** H1b (C1): a value H2 let through moves the clock up to it. */
  observe(value: number): void {
    if (value > this.value) this.value = value;
  }

  /** H1a: the value the next tick takes: above the clock, and above the wall clock's. */
  next(): number {
    const floor = this.now() * TICKS_PER_MS;
    return Math.max(this.value, floor) + 1;
  }

  /** H1a: a proposal or fast-path final ticks the clock. */
  tick(): number {
    this.value = this.next();
    return this.value;
  }

  /** H2: the largest value applied now; larger ones wait in their link's hold queue. */
  adoptLimit(now = this.now()): number {
    return (now + this.#bounds.clockAdoptMs) * TICKS_PER_MS;
  }

  /** H2: a value above this closes its link with E_CLOCK_SKEW. */
  refuseLimit(now = this.now()): number {
    return (now + this.#bounds.clockRefuseMs) * TICKS_PER_MS;
  }

  /** H2b: may the clock tick now without passing the adopt offset's next millisecond? */
  room(now = this.now()): boolean {
    return this.value + 1 < (now + this.#bounds.clockAdoptMs + 1) * TICKS_PER_MS;
  }

  /** How many wall ms until `value` may apply (H2), or until the next ms (H2b); at least 1. */
  waitMs(value: number | undefined): number {
    const now = this.now();
    const until = value === undefined ? now + 1 : Math.ceil(value / TICKS_PER_MS) - this.#bounds.clockAdoptMs;
    return Math.max(1, until - now);
  }
}

/** H2: a value more than the refuse offset ahead of the wall clock closes the link. */
export function assertNotSkewed(clock: HybridClock, value: number): void {
  if (value > clock.refuseLimit()) {
    const ahead = Math.ceil(value / TICKS_PER_MS) - clock.now();
    throw new CapbusError(
      "E_CLOCK_SKEW",
      `timestamp ${value} is ${ahead} ms ahead of this host's clock, more than the ` +
        `${clock.bounds.clockRefuseMs} ms allowed (spec/ordering.md §2 H2): the sender's wall clock is off ` +
        "(NTP not running, a VM restored from a snapshot), or the sender is hostile",
    );
  }
}
