/**
 * A final or proposed timestamp `(lamport, sender peer id, sender seq)`, compared in that order
 * (spec/ordering.md §Timestamps). The tie-break part belongs to the event and is fixed at staging,
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

/** Largest gap allowed between a received timestamp and the local clock (spec: E_CLOCK_JUMP). */
export const MAX_CLOCK_JUMP = 2 ** 32;

/** The peer's Lamport clock: moves past every timestamp it sees, and ticks for each proposal. */
export class LamportClock {
  value = 0;

  observe(lamport: number): void {
    if (lamport > this.value) this.value = lamport;
  }

  tick(): number {
    return ++this.value;
  }
}

/** Spec §2 C2: a value more than 2^32 above the clock closes the link. */
export function assertNoClockJump(clock: LamportClock, lamport: number): void {
  if (lamport - clock.value > MAX_CLOCK_JUMP) {
    throw new CapbusError(
      "E_CLOCK_JUMP",
      `timestamp ${lamport} is more than 2^32 above the clock ${clock.value}`,
    );
  }
}
