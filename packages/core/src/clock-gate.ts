/**
 * Rule H2 of spec/ordering.md §2 at frame arrival, and H2b: a clock value far ahead of this
 * host's wall clock closes its link (E_CLOCK_SKEW); one only somewhat ahead waits, with every
 * later frame of its link (a per-link FIFO hold queue), until the wall clock has caught up to
 * within the adopt offset. No value is applied before its wait, so no peer can run this clock
 * more than the adopt offset ahead of its wall clock, and frames are processed only while the
 * clock has room to tick (H2b). Other links are unaffected by one link's hold.
 */
import { type Frame, WireError } from "@capbus/wire";
import { CapbusError } from "./errors.js";
import type { LinkSession } from "./session.js";
import { assertNotSkewed, type HybridClock } from "./timestamp.js";

/**
 * The clock or lamport value a frame carries (H2 applies to it), if any: the largest, for a frame
 * that carries several (a batch frame answering several batches, accepts riding on a unicast).
 */
export function frameClock(frame: Frame): number | undefined {
  switch (frame.type) {
    case "stage":
    case "notice":
    case "release":
    case "destroy":
    case "stages":
      return frame.clock;
    case "unicast":
    case "unicasts":
      return frame.accepted === undefined ? frame.clock : Math.max(frame.clock, largest(frame.accepted, 2));
    case "propose":
    case "dead":
    case "accept":
    case "commit":
    case "commits":
    case "committed":
      return frame.lamport;
    case "accepts":
      return frame.more === undefined ? frame.lamport : Math.max(frame.lamport, largest(frame.more, 2));
    case "proposals":
      return frame.more === undefined ? frame.lamport : Math.max(frame.lamport, largest(frame.more, 1));
    default:
      return undefined;
  }
}

/** The largest value at index `at` of a frame's runs. */
function largest(runs: readonly (readonly number[])[], at: number): number {
  let max = 0;
  for (const run of runs) if ((run[at] as number) > max) max = run[at] as number;
  return max;
}

interface Held {
  readonly frame: Frame;
  readonly size: number;
  readonly clock: number | undefined;
}

/** What the gate needs from its peer. */
export interface ClockGateContext {
  readonly clock: HybridClock;
  setTimer(ms: number, fn: () => void): () => void;
  /** Process one frame of `session` (the peer's frame handler past the hello). */
  process(session: LinkSession, frame: Frame, size: number): void;
}

export class ClockGate {
  readonly #ctx: ClockGateContext;
  /** Per session, its frames waiting in arrival order (a Map: sessions are drained in hold order). */
  readonly #held = new Map<LinkSession, { frames: Held[]; bytes: number }>();
  #cancelTimer: (() => void) | undefined;
  #draining = false;

  constructor(ctx: ClockGateContext) {
    this.#ctx = ctx;
  }

  /**
   * A frame arrived on `session`: refused (throws E_CLOCK_SKEW, which closes the session),
   * processed now, or held behind its link's earlier frames. Held links are re-checked on every
   * arrival too, not only on the timer (timers of hidden browser tabs are throttled).
   */
  arrive(session: LinkSession, frame: Frame, size: number): void {
    const clock = frameClock(frame);
    // One wall-clock read for H2's three tests (each read it again: 3 Date.now per frame).
    const c = this.#ctx.clock;
    const now = c.now();
    if (clock !== undefined && clock > c.refuseLimit(now)) assertNotSkewed(c, clock);
    const queue = this.#held.get(session);
    if (queue === undefined && c.room(now) && (clock === undefined || clock <= c.adoptLimit(now)))
      this.#ctx.process(session, frame, size);
    else this.#hold(session, { frame, size, clock });
    this.#drain();
  }

  /** The session ended: its held frames are dropped with it. */
  drop(session: LinkSession): void {
    if (this.#held.delete(session)) this.#schedule();
  }

  /** H2 and H2b: may a frame carrying `clock` be processed now? */
  #ready(clock: number | undefined): boolean {
    const c = this.#ctx.clock;
    return c.room() && (clock === undefined || clock <= c.adoptLimit());
  }

  #hold(session: LinkSession, held: Held): void {
    let queue = this.#held.get(session);
    if (queue === undefined) {
      queue = { frames: [], bytes: 0 };
      this.#held.set(session, queue);
    }
    queue.frames.push(held);
    queue.bytes += held.size;
    // Held frames are acknowledged already: bound what they take (decoded size, as quotas count
    // it) by the link's window, as if unread.
    if (queue.bytes > session.options.maxUnackedBytes) {
      this.#held.delete(session);
      throw new CapbusError(
        "E_CLOCK_SKEW",
        `${queue.bytes} bytes of frames wait for this host's clock to catch up with the sender's ` +
          `(more than the window, ${session.options.maxUnackedBytes}): the sender's clock is too far ahead`,
      );
    }
  }

  /** Process every held frame whose wait is over, link by link, each link in order. */
  #drain(): void {
    if (this.#draining || this.#held.size === 0) return;
    this.#draining = true;
    try {
      let progress = true;
      while (progress) {
        progress = false;
        for (const [session, queue] of this.#held) {
          while (queue.frames.length > 0 && this.#held.get(session) === queue) {
            const next = queue.frames[0] as Held;
            if (!this.#ready(next.clock)) break;
            queue.frames.shift();
            queue.bytes -= next.size;
            progress = true;
            this.#run(session, next);
          }
          if (queue.frames.length === 0 && this.#held.get(session) === queue) this.#held.delete(session);
        }
      }
    } finally {
      this.#draining = false;
    }
    this.#schedule();
  }

  /** A held frame's processing fails as it would have on arrival: its session closes. */
  #run(session: LinkSession, held: Held): void {
    if (session.closed) return void this.#held.delete(session);
    try {
      this.#ctx.process(session, held.frame, held.size);
    } catch (error) {
      if (!(error instanceof CapbusError || error instanceof WireError)) throw error;
      this.#held.delete(session);
      session.close(error.code, error.message);
    }
  }

  /** One timer, for the earliest wait among the links' first frames. */
  #schedule(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    let wait = Infinity;
    for (const queue of this.#held.values()) {
      const first = queue.frames[0];
      if (first === undefined) continue;
      const clock = this.#ctx.clock;
      // Waiting for H2b (no room) or for the value's wait (H2), whichever ends later.
      const ms = Math.max(
        clock.room() ? 0 : clock.waitMs(undefined),
        first.clock === undefined ? 1 : clock.waitMs(first.clock),
      );
      if (ms < wait) wait = ms;
    }
    if (wait === Infinity) return;
    this.#cancelTimer = this.#ctx.setTimer(wait, () => {
      this.#cancelTimer = undefined;
      this.#drain();
    });
  }
}
