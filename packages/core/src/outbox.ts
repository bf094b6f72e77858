/**
 * The sender's side of the ordering protocol (spec/ordering.md §3).
 *
 * Causality rule: an event is committed (a fast unicast: put on the wire) only after every
 * earlier event of this peer has its final decided and known here, so the clock is past it and
 * the new final lands above it. The one exception is a fast unicast following earlier
 * undecided fast unicasts to the same peer: one FIFO link carries them, and that receiver's
 * finals only grow. Staging is never held back: proposals do not depend on anything.
 *
 * Batches (spec/ordering.md §14): the events of one round batch share a `batch` number and are
 * contiguous here; they are decided together, at one final F_b = max(C + 1, every proposal of
 * every event) (B3), and only once every earlier event is decided (B4, per batch).
 */
import type { CoreErrorCode } from "./errors.js";
import type { HybridClock } from "./timestamp.js";

export type DestinationState = "pending" | "proposed" | "failed";

export interface OutDestination {
  readonly peer: string;
  /** `deliver`: the peer delivers the event at `nodes`. `notice`: it owns carried handles' nodes. */
  readonly role: "deliver" | "notice";
  readonly nodes: readonly number[];
  state: DestinationState;
  proposal: number;
  code: CoreErrorCode | undefined;
  /** Nodes the peer answered are already destroyed (spec/ordering.md §9, spec/ordering.md §11). */
  dead: readonly number[];
  /**
   * Set when the peer refused the event with a `reject` (as opposed to a link that closed): with
   * the node the reject named, if it named one (spec/wire.md §5.9).
   */
  refusal?: { readonly node: number | undefined };
}

export type OutKind = "message" | "destroy" | "release";

/** Past this many participants an event's are found through a Map rather than its list. */
const INDEX_AT = 8;

/**
 * An event's participants by peer id, in the order added, with a Map's get/has/set/size. A list,
 * looked through: the common event has one participant, and a Map per event (with an iterator per
 * loop over it) showed in a stream's profiles. A Map is built only for a large multicast.
 */
export class Participants {
  readonly #list: OutDestination[];
  #index: Map<string, OutDestination> | undefined = undefined;

  /** With `first` as the first participant, or none. */
  constructor(first?: OutDestination) {
    // An array of exactly one: an empty one grows to room for 17 at its first push.
    this.#list = first === undefined ? [] : [first];
  }

  get size(): number {
    return this.#list.length;
  }

  get(peer: string): OutDestination | undefined {
    if (this.#index !== undefined) return this.#index.get(peer);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if ((list[i] as OutDestination).peer === peer) return list[i];
    return undefined;
  }

  has(peer: string): boolean {
    return this.get(peer) !== undefined;
  }

  /** Add `destination` (its `peer` is `peer`), or replace the participant `peer` in place. */
  set(peer: string, destination: OutDestination): this {
    const list = this.#list;
    const old = this.get(peer);
    if (old !== undefined) list[list.indexOf(old)] = destination;
    else list.push(destination);
    if (this.#index !== undefined) this.#index.set(peer, destination);
    else if (list.length > INDEX_AT) this.#index = new Map(list.map((d) => [d.peer, d]));
    return this;
  }

  /** The participants, in the order added (the list itself: do not change it). */
  values(): readonly OutDestination[] {
    return this.#list;
  }

  /** Their peer ids, in the order added. */
  keys(): string[] {
    return this.#list.map((d) => d.peer);
  }

  /** The first participant added (a fast event's only one). */
  first(): OutDestination | undefined {
    return this.#list[0];
  }
}

export interface OutEvent {
  readonly seq: number;
  readonly kind: OutKind;
  /**
   * Committed by its receiver on arrival: a plain unicast, or a release. A held fast unicast
   * becomes a round when its batch gains a second peer (B5).
   */
  fast: boolean;
  /** A round batch of several events: its number (its first event's); undefined: a batch of one. */
  batch: number | undefined;
  /** Participants by peer id; a destroy may add some at its pick start. */
  readonly destinations: Participants;
  /** On the wire yet: a fast event sent, a round staged (at the end of its turn, B5). */
  sent: boolean;
  decided: boolean;
  final: number | undefined;
  /** The outbox's: a fast unicast passed by its scan, on the wire and undecided (counted in #passed). */
  passed: boolean;
}

export interface OutboxIo {
  /** Put a fast unicast on the wire. */
  sendFast(event: OutEvent): void;
  /**
   * Every participant answered and the causality rule allows deciding: may the final be picked
   * now? A destroy uses this for its pick start, adding participants and answering false.
   */
  ready(event: OutEvent): boolean;
  /** The event's final is decided (or it failed everywhere): send commits, settle the caller. */
  decided(event: OutEvent): void;
  /**
   * Every participant of a round has answered and a destination refused it (spec/ordering.md
   * spec/ordering.md §3.3): the round is out of the outbox, undecided, and the sender aborts it everywhere.
   */
  refused(event: OutEvent): void;
}

export class Outbox {
  /** This peer's events in send order; those before #head are decided and forgotten. */
  #events: OutEvent[] = [];
  #head = 0;
  /**
   * Incremental scan (a stream would otherwise rescan its whole window on every change): events
   * before #cursor are decided, or fast unicasts on the wire to #fastPeer, undecided, and listed
   * in #passed (a count of events flagged `passed`: no per-event Set entry). Only the event at
   * #cursor can be what blocks the rest.
   */
  #cursor = 0;
  #passed = 0;
  #fastPeer: string | undefined;
  #undecided = 0;
  /** advance() re-entered from a callback: run again once the current pass ends. */
  #advancing = false;
  #again = false;
  readonly #clock: HybridClock;
  readonly #io: OutboxIo;

  constructor(clock: HybridClock, io: OutboxIo) {
    this.#clock = clock;
    this.#io = io;
  }

  /** Events not yet decided (the peer's close waits for none to remain). */
  get pending(): number {
    return this.#undecided;
  }

  add(event: OutEvent): void {
    this.#events.push(event);
    this.#undecided++;
    this.advance();
  }

  /** Drop an undecided event (aborted before its decision). */
  remove(event: OutEvent): void {
    this.#unlist(event);
    this.advance();
  }

  #unlist(event: OutEvent): void {
    const i = this.#events.indexOf(event, this.#head);
    if (i >= 0 && !event.decided) {
      this.#events.splice(i, 1);
      if (i < this.#cursor) this.#cursor--;
      this.#unpass(event);
      this.#undecided--;
    }
  }

  /** A participant answered with its proposal, and the nodes it reports destroyed. */
  proposed(
    event: OutEvent,
    peer: string,
    lamport: number,
    dead: readonly number[] = [],
    advance = true,
  ): void {
    const dest = event.destinations.get(peer);
    if (dest?.state !== "pending") return;
    dest.state = "proposed";
    dest.proposal = lamport;
    dest.dead = dead;
    if (this.#abortRefused(event)) return;
    // Not observed here: the final, which is at least every proposal, moves the clock (spec/ordering.md §3.3).
    // A batch's proposals are all taken first and advance once (the scan looks at the whole batch).
    if (advance) this.advance();
  }

  /**
   * A fast unicast's receiver assigned its final. A fast batch's accepts are all taken first and
   * advance once (`advance` false for each).
   */
  accepted(event: OutEvent, lamport: number, advance = true): void {
    if (event.decided) return;
    for (const dest of event.destinations.values()) dest.state = "proposed";
    this.#clock.observe(lamport);
    this.#settle(event, lamport);
    if (advance) this.advance();
  }

  /** A destination became unreachable: it takes no further part. */
  failed(event: OutEvent, peer: string, code: CoreErrorCode): void {
    const dest = event.destinations.get(peer);
    if (!dest || dest.state === "failed" || event.decided) return;
    dest.state = "failed";
    dest.code = code;
    if (event.fast) this.#settle(event, undefined);
    else if (this.#abortRefused(event)) return;
    this.advance();
  }

  /** A participant refused the event (a `reject`), naming the bad node or not. */
  refused(event: OutEvent, peer: string, code: CoreErrorCode, node?: number): void {
    const dest = event.destinations.get(peer);
    if (dest?.state === "failed" || event.decided) return;
    if (dest) dest.refusal = { node };
    this.failed(event, peer, code);
  }

  /**
   * All or nothing (spec/ordering.md §3.3): once every participant of a round has answered, a
   * destination's refusal means no final: the round leaves the outbox and the sender aborts it.
   * A notice's owner refusing is not a destination refusing: its handles arrive dead (spec/ordering.md §11).
   */
  #abortRefused(event: OutEvent): boolean {
    if (!allAnswered(event) || !refusedByDestination(event)) return false;
    this.#unlist(event);
    this.#io.refused(event);
    this.advance();
    return true;
  }

  /** Decide what the causality rule allows, in send order. */
  advance(): void {
    if (this.#advancing) {
      this.#again = true;
      return;
    }
    this.#advancing = true;
    try {
      do {
        this.#again = false;
        this.#scan();
      } while (this.#again);
    } finally {
      this.#advancing = false;
    }
    this.#compact();
  }

  #scan(): void {
    const events = this.#events;
    while (this.#head < events.length && events[this.#head]!.decided) this.#head++;
    if (this.#cursor < this.#head) this.#cursor = this.#head;
    // #fastPeer defined: only fast unicasts to that peer are undecided before the cursor, and
    // only more of them may go out; a round at the cursor waits until none is undecided.
    if (this.#passed === 0) this.#fastPeer = undefined;
    for (; this.#cursor < events.length; this.#cursor++) {
      const event = events[this.#cursor]!;
      if (event.decided) continue;
      if (event.fast) {
        const peer = onlyPeer(event);
        if (this.#fastPeer !== undefined && this.#fastPeer !== peer) return;
        if (!event.sent) {
          event.sent = true;
          this.#io.sendFast(event);
          if (event.decided) continue;
        }
        if (!event.passed) {
          event.passed = true;
          this.#passed++;
        }
        this.#fastPeer = peer;
        continue;
      }
      if (this.#fastPeer !== undefined) return;
      const end = this.#batchEnd(this.#cursor);
      for (let i = this.#cursor; i < end; i++) if (!allAnswered(events[i]!)) return;
      if (!this.#io.ready(event)) return;
      this.#decide(this.#cursor, end);
      this.#cursor = end - 1;
    }
  }

  /** Index after the last event of the round batch that starts at `at` (its events are contiguous). */
  #batchEnd(at: number): number {
    const events = this.#events;
    const batch = events[at]!.batch;
    let end = at + 1;
    if (batch === undefined) return end;
    while (end < events.length && events[end]!.batch === batch) end++;
    return end;
  }

  /** B3: one final for the whole batch, above the clock and every proposal of every event. */
  #decide(from: number, end: number): void {
    // A copy: deciding calls out, and nothing called may shift the list under this loop.
    const events = this.#events.slice(from, end);
    let final = this.#clock.next(); // H1a: at least C + 1 and the wall clock
    let any = false;
    for (const event of events) {
      for (const dest of event.destinations.values()) {
        if (dest.state !== "proposed") continue;
        any = true;
        if (dest.proposal > final) final = dest.proposal;
      }
    }
    if (any) this.#clock.observe(final);
    for (const event of events) {
      if (!event.decided) this.#settle(event, proposedAnywhere(event) ? final : undefined);
    }
  }

  /** Forget decided events at the front now and then, rather than shifting one at a time. */
  #compact(): void {
    const events = this.#events;
    while (this.#head < events.length && events[this.#head]!.decided) this.#head++;
    if (this.#head === events.length) {
      this.#events = [];
      this.#cursor = this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > events.length) {
      this.#events = events.slice(this.#head);
      this.#cursor -= this.#head;
      this.#head = 0;
    }
  }

  /** The event leaves the passed fast unicasts, if it was one: was it? */
  #unpass(event: OutEvent): boolean {
    if (!event.passed) return false;
    event.passed = false;
    this.#passed--;
    return true;
  }

  #settle(event: OutEvent, final: number | undefined): void {
    event.decided = true;
    this.#undecided--;
    if (this.#unpass(event) && this.#passed === 0) this.#fastPeer = undefined;
    event.final = final;
    this.#io.decided(event);
  }
}

function proposedAnywhere(event: OutEvent): boolean {
  for (const dest of event.destinations.values()) if (dest.state === "proposed") return true;
  return false;
}

function onlyPeer(event: OutEvent): string {
  const first = event.destinations.first();
  if (first === undefined) throw new Error("an event without destinations");
  return first.peer;
}

/** A message a destination refused (a destroy is never refused; a stray reject does not abort it). */
function refusedByDestination(event: OutEvent): boolean {
  if (event.kind !== "message") return false;
  for (const dest of event.destinations.values()) if (dest.refusal && dest.role === "deliver") return true;
  return false;
}

function allAnswered(event: OutEvent): boolean {
  for (const dest of event.destinations.values()) if (dest.state === "pending") return false;
  return true;
}
