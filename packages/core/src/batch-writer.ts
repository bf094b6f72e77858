/**
 * The sender's frames of one event-loop turn (spec/ordering.md §14, rules B2 and B5): fast
 * unicasts to one peer are gathered into one `unicasts` frame, and a batch's commits to one
 * participant into one `commits` frame; both go at the end of the turn, with no timer, or at a
 * cap. Any other frame to a peer first writes what is gathered for it, so each link carries this
 * peer's frames in the order it made them. A gathered frame of one event goes as today's frame.
 */
import { WireError, WireErrorCode } from "@capbus/wire";
import { CapbusError } from "./errors.js";
import type { AcceptedRun, HeldAnswers } from "./held-answers.js";
import { microtask } from "./microtask.js";
import type { OutEvent } from "./outbox.js";
import type { FrameBody, LinkSession } from "./session.js";

/** When a batch is sealed (spec/limits.md §5): at this many events, or this many payload bytes. */
export interface BatchCaps {
  readonly maxEvents: number;
  readonly maxBytes: number;
}

/** One unicast of a fast batch. */
export interface FastEntry {
  readonly event: OutEvent;
  readonly node: number;
  readonly payload: unknown;
}

export interface WriterContext {
  session(peer: string): LinkSession | undefined;
  /** The sender's clock now: a fast batch carries it (at least every event's clock at its send). */
  clock(): number;
  /** The session did not take these fast unicasts (too large, backpressure): they fail with `error`. */
  refused(peer: string, entries: readonly FastEntry[], error: WireError | CapbusError): void;
  /** A fast frame whose first event is `first` went to `peer`: its answer is owed (spec/guarantees.md §4.6). */
  sent(peer: string, first: number): void;
  /** The turn ends: close the open round batch (B5) before the gathered frames go. */
  turnEnd(): void;
  /** Accepts this peer holds for its peers (B7): a fast frame to one of them carries its own. */
  readonly answers: HeldAnswers;
}

/** A fast frame: it may carry the receiver's accepts held here (B7). */
type FastBody = Extract<FrameBody, { type: "unicast" | "unicasts" }>;

type Gathered =
  | { readonly kind: "unicasts"; readonly entries: FastEntry[]; bytes: number }
  | { readonly kind: "commits"; readonly batch: number; readonly lamport: number; readonly events: number[] };

export class BatchWriter {
  readonly #ctx: WriterContext;
  readonly #caps: BatchCaps;
  /** Frames gathered per peer, in the order they were begun; only the last one grows. */
  readonly #gathered = new Map<string, Gathered[]>();
  #scheduled = false;

  constructor(ctx: WriterContext, caps: BatchCaps) {
    this.#ctx = ctx;
    this.#caps = caps;
  }

  /** A turn is under way in which frames are gathered (its end is scheduled). */
  get inTurn(): boolean {
    return this.#scheduled;
  }

  /** Run `turnEnd` and write what is gathered once the current turn's synchronous code is done. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    microtask(this.#turnEnd);
  }

  /** The end of a turn: one function for every turn, not a closure made per turn. */
  readonly #turnEnd = (): void => {
    this.#scheduled = false;
    this.#ctx.turnEnd();
    this.flushAll();
  };

  /** A fast unicast to `peer`, joining the fast batch gathered for it (B2). */
  unicast(peer: string, entry: FastEntry, bytes: number): void {
    const list = this.#list(peer);
    const last = list[list.length - 1];
    const cap = this.#byteCap(peer);
    // Entry i of a `unicasts` frame is event `first + i`: a gap (a release, a claim) starts another.
    let batch: Extract<Gathered, { kind: "unicasts" }>;
    if (
      last?.kind === "unicasts" &&
      last.entries[last.entries.length - 1]!.event.seq + 1 === entry.event.seq &&
      last.bytes + bytes <= cap
    ) {
      batch = last;
      batch.entries.push(entry);
      batch.bytes += bytes;
    } else {
      batch = { kind: "unicasts", entries: [entry], bytes };
      list.push(batch);
    }
    this.schedule();
    if (batch.entries.length >= this.#caps.maxEvents || batch.bytes >= cap) this.flush(peer);
  }

  /**
   * Bytes a batch to `peer` may gather: the cap, and at most a quarter of the session's window and
   * send queue, so that flow control and E_BACKPRESSURE still act on a few events, not a batch.
   */
  #byteCap(peer: string): number {
    const options = this.#ctx.session(peer)?.options;
    if (options === undefined) return this.#caps.maxBytes;
    return Math.min(this.#caps.maxBytes, options.maxBufferedBytes / 4, options.maxUnackedBytes / 4);
  }

  /** The commit of event `seq` of round batch `batch` (or of a batch of one: undefined) to `peer`. */
  commit(peer: string, batch: number | undefined, lamport: number, seq: number): void {
    if (batch === undefined) return this.send(peer, { type: "commit", event: seq, lamport, dead: [] });
    const list = this.#list(peer);
    const last = list[list.length - 1];
    if (last?.kind === "commits" && last.batch === batch && last.lamport === lamport) last.events.push(seq);
    else list.push({ kind: "commits", batch, lamport, events: [seq] });
    this.schedule();
  }

  /** A protocol frame to `peer`, after what is gathered for it. */
  send(peer: string, frame: FrameBody): void {
    this.flush(peer);
    this.#ctx.session(peer)?.send(frame);
  }

  /** A new message's frame to `peer`, after what is gathered for it; throws as `LinkSession.offer`. */
  offer(peer: string, frame: FrameBody): void {
    this.flush(peer);
    this.#ctx.session(peer)?.offer(frame);
  }

  /**
   * A fast unicast's frame to `peer`, after what is gathered for it, carrying the accepts held
   * for `peer` (B7); throws as `LinkSession.offer`.
   */
  offerUnicast(peer: string, event: number, clock: number, node: number, payload: unknown): void {
    this.flush(peer);
    const session = this.#ctx.session(peer);
    if (session !== undefined) this.#offerUnicast(session, event, clock, node, payload);
  }

  /** One `unicast` frame with the held accepts (built once, not copied to add them). */
  #offerUnicast(session: LinkSession, event: number, clock: number, node: number, payload: unknown): void {
    const accepted = this.#ctx.answers.take(session);
    if (accepted === undefined) return session.offer({ type: "unicast", event, clock, node, payload });
    this.#offerCarrying(session, accepted, { type: "unicast", event, clock, node, payload, accepted });
  }

  /** A fast frame carrying taken accepts: held again if the session refuses it. */
  #offerCarrying(session: LinkSession, accepted: AcceptedRun[], frame: FastBody): void {
    try {
      session.offer(frame);
    } catch (error) {
      this.#ctx.answers.restore(session, accepted);
      throw error;
    }
  }

  /** Write everything gathered, peer by peer. */
  flushAll(): void {
    for (const peer of [...this.#gathered.keys()]) this.flush(peer);
  }

  /** Write what is gathered for `peer`, in order. */
  flush(peer: string): void {
    const list = this.#gathered.get(peer);
    if (list === undefined) return;
    this.#gathered.delete(peer);
    const session = this.#ctx.session(peer);
    // No session: it closed meanwhile, and its end already failed these events.
    if (session === undefined || session.closed) return;
    for (const gathered of list) {
      if (gathered.kind === "commits") this.#writeCommits(session, gathered);
      else this.#writeUnicasts(peer, session, gathered.entries);
    }
  }

  #list(peer: string): Gathered[] {
    let list = this.#gathered.get(peer);
    if (list === undefined) {
      list = [];
      this.#gathered.set(peer, list);
    }
    return list;
  }

  #writeCommits(session: LinkSession, c: Extract<Gathered, { kind: "commits" }>): void {
    if (c.events.length === 1) {
      session.send({ type: "commit", event: c.events[0]!, lamport: c.lamport, dead: [] });
    } else session.send({ type: "commits", event: c.batch, lamport: c.lamport, events: c.events });
  }

  /**
   * One `unicasts` frame, or today's `unicast` for a batch of one. A batch too large for the
   * frame limit goes as single frames; what the session still refuses fails its events.
   */
  #writeUnicasts(peer: string, session: LinkSession, entries: readonly FastEntry[]): void {
    const clock = this.#ctx.clock();
    const first = entries[0]!;
    try {
      if (entries.length === 1) {
        this.#offerUnicast(session, first.event.seq, clock, first.node, first.payload);
      } else {
        const event = first.event.seq;
        const to = entries.map((e) => e.node);
        const payloads = entries.map((e) => e.payload);
        const accepted = this.#ctx.answers.take(session);
        if (accepted === undefined) session.offer({ type: "unicasts", event, clock, to, payloads });
        else
          this.#offerCarrying(session, accepted, { type: "unicasts", event, clock, to, payloads, accepted });
      }
      this.#ctx.sent(peer, first.event.seq);
    } catch (error) {
      const refused = refusal(error);
      if (refused === undefined) throw error;
      if (entries.length > 1 && refused instanceof WireError && refused.code === WireErrorCode.E_TOO_LARGE) {
        for (const entry of entries) this.#writeUnicasts(peer, session, [entry]);
        return;
      }
      this.#ctx.refused(peer, entries, refused);
    }
  }
}

/** A frame the session did not take, before the wire (an encoding error, E_BACKPRESSURE). */
export function refusal(error: unknown): WireError | CapbusError | undefined {
  if (error instanceof WireError) return error;
  if (error instanceof CapbusError && error.code === "E_BACKPRESSURE") return error;
  return undefined;
}

/** A cheap estimate of a payload's size on the wire, for the batch byte cap. */
export function roughSize(payload: unknown): number {
  if (payload instanceof Uint8Array) return payload.byteLength + 5;
  if (typeof payload === "string") return payload.length + 5;
  return 64;
}
