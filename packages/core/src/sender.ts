/**
 * The sender's side of the protocol (spec/ordering.md §3, spec/ordering.md §4, spec/ordering.md §6, spec/ordering.md §9, spec/ordering.md §10, spec/ordering.md §11): this peer's own
 * events — messages, destroys, releases — from staging to the decided final, under the
 * causality rule the outbox enforces, with the reference bookkeeping of carried handles.
 */
import type { TraceRecord } from "@capbus/trace";
import {
  assertBatchable,
  type EncodedPayload,
  encodePayload,
  type HandleRef,
  type WireError,
} from "@capbus/wire";
import { Answers } from "./answers.js";
import { type BatchCaps, BatchWriter, type FastEntry, refusal, roughSize } from "./batch-writer.js";
import { CapbusError, type CoreErrorCode } from "./errors.js";
import type { DestinationResult, SendResult } from "./events.js";
import { type FinalProof, finalStatement, skipped } from "./finals.js";
import { type Handle, type Node, nodeName } from "./handles.js";
import type { HeldAnswers } from "./held-answers.js";
import type { Links } from "./links.js";
import { microtask } from "./microtask.js";
import { LatencyWindow } from "./observe.js";
import { Outbox, type OutDestination, type OutEvent, type OutKind, Participants } from "./outbox.js";
import type { OwnedNode } from "./owner.js";
import type { SendOptions } from "./peer.js";
import type { Runtime } from "./runtime.js";
import type { LinkSession } from "./session.js";
import { pickWindowMs } from "./timeouts.js";
import type { HybridClock, Timestamp } from "./timestamp.js";
import { summarizePayload } from "./trace-extras.js";
import { deadHandles, liveNodes, referencesToGiveBack } from "./transfer.js";

/** What the sender needs from its peer. */
export interface SenderContext {
  readonly id: string;
  readonly clock: HybridClock;
  readonly links: Links;
  readonly nodes: ReadonlyMap<number, OwnedNode>;
  readonly runtime: Runtime;
  readonly dialTimeoutMs: number;
  /** How long a participant may leave a frame of this peer's events unanswered (T6). */
  readonly answerTimeoutMs: number;
  /** A participant left a frame unanswered past the answer timeout: end its session. */
  unanswered(peer: string): void;
  trace(record: TraceRecord): void;
  /** Is anything recording traces? (Records are not built when nothing is.) */
  readonly tracing: boolean;
  /** Characters of the payload summary in a send record (spec/trace.md §3.2); undefined: none. */
  readonly traceSummary: number | undefined;
  /** When a batch is sealed (spec/limits.md §5). */
  readonly batchCaps: BatchCaps;
  /** Accepts held for peers to the end of the turn: this peer's fast frames carry them (B7). */
  readonly answers: HeldAnswers;
  /** A destroy was picked: answer the frames held for it. */
  replayHeld(): void;
  /** An event was decided or dropped: a close may be waiting. */
  wakeIdle(): void;
  closed(): boolean;
  assertUsable(handle: Handle): void;
  owned(node: Node): OwnedNode;
  /**
   * Sign with this peer's key (spec/ordering.md §16, "Signed finals"); undefined: an unkeyed peer,
   * whose finals go unsigned.
   */
  readonly sign: ((data: Uint8Array) => Uint8Array | Promise<Uint8Array>) | undefined;
}

/** Multicasts of one round (or round batch) decided together, whose commits wait for one signature. */
interface Signing {
  readonly batch: number | undefined;
  readonly final: number;
  readonly dead: readonly HandleRef[];
  readonly events: OutEvent[];
}

/**
 * One undecided event of this peer's own: the outbox's event and the sender's bookkeeping in one
 * fixed-shape object (a stream keeps ~1000 in flight: fewer, monomorphic objects per send keep
 * them out of the old generation's way).
 */
class Pending implements OutEvent {
  readonly seq: number;
  readonly kind: OutKind;
  fast: boolean;
  batch: number | undefined = undefined;
  readonly destinations: Participants;
  sent = false;
  decided = false;
  final: number | undefined = undefined;
  passed = false;
  /** This peer's id: the event's id is built when asked (results, traces). */
  readonly #self: string;
  /** When it was created (Runtime clock): its decision records the round's latency. */
  readonly at: number;
  /** What goes in the fast-path frame: a unicast (its payload to `node`), or a release. */
  body: "unicast" | "release" | undefined = undefined;
  /** A unicast's or release's node at its one destination. */
  node = 0;
  /** A release: how many references of `holder`'s go. */
  count = 0;
  holder = "";
  /** Handles a message carries, and the own nodes this peer counted references for. */
  carried: readonly HandleRef[] = NO_REFS;
  ownCounted: readonly number[] = NO_NODES;
  /** A destroy or release: what its decision does (a message's is #commitMessage). */
  onDecided: ((event: OutEvent) => void) | undefined = undefined;
  dropped: (error: Refusal) => void = ignore;
  /**
   * A message: its destinations in call order (undefined: the one target in `target`) and its
   * caller's promise, kept as fields rather than closures made per send.
   */
  order: ReadonlyArray<{ readonly peer: string; readonly node: number }> | undefined = undefined;
  target: Handle | undefined = undefined;
  resolve: ((result: SendResult) => void) | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** A fast event its session refused before the wire: the decision fails the caller with it. */
  refused: Refusal | undefined = undefined;
  /** A message's payload, until its frames are written (a round is staged at the end of its turn). */
  payload: unknown = undefined;
  /** A message that may share a batch (B1: no handles, a payload that fits a batch frame). */
  batchable = false;
  /** A unicast sent with nothing undecided and no batch open this turn (goes in today's frames). */
  alone = false;

  constructor(
    self: string,
    seq: number,
    kind: OutKind,
    fast: boolean,
    destinations: Participants,
    at: number,
  ) {
    this.#self = self;
    this.seq = seq;
    this.kind = kind;
    this.fast = fast;
    this.destinations = destinations;
    this.at = at;
  }

  get event(): OutEvent {
    return this;
  }

  get id(): string {
    return `${this.#self}:${this.seq}`;
  }

  /** A message's destinations in call order. */
  targets(): ReadonlyArray<{ readonly peer: string; readonly node: number }> {
    const t = this.target;
    return this.order ?? (t ? [{ peer: t.owner, node: t.nodeId }] : []);
  }
}

function ignore(): void {}

/**
 * A promise's resolve and reject, taken by one shared executor (no closure made per send) and
 * read back at once by the code that made the promise.
 */
const settlers: { resolve: (value: never) => void; reject: (error: unknown) => void } = {
  resolve: ignore,
  reject: ignore,
};

function takeSettlers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  settlers.resolve = resolve;
  settlers.reject = reject;
}

/**
 * This peer's undecided events by number. Numbers are handed out in order and most events are
 * decided soon, so a window of slots from the oldest undecided number does: a Map rehashed over
 * and over as a stream's ~1000 in flight came and went.
 */
class PendingTable {
  /** Slot k holds event number #first + k; slots before #head are empty. */
  #slots: (Pending | undefined)[] = [];
  #first = 0;
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(seq: number): Pending | undefined {
    const k = seq - this.#first;
    return k >= this.#head && k < this.#slots.length ? this.#slots[k] : undefined;
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  set(seq: number, pending: Pending): void {
    if (this.#size === 0) this.#reset(seq);
    let k = seq - this.#first;
    if (k < this.#head) {
      // Below the window (not how numbers are handed out): start it again from `seq`.
      const held = this.values();
      this.#reset(seq);
      for (const p of held) this.#put(p.seq - seq, p);
      k = 0;
    }
    this.#put(k, pending);
  }

  delete(seq: number): void {
    const k = seq - this.#first;
    if (k < this.#head || k >= this.#slots.length || this.#slots[k] === undefined) return;
    this.#slots[k] = undefined;
    if (--this.#size === 0) return this.#reset(0);
    while (this.#slots[this.#head] === undefined) this.#head++;
    // Drop the empty front now and then, rather than shifting per event.
    if (this.#head > 1024 && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#first += this.#head;
      this.#head = 0;
    }
  }

  /** The undecided events in number order (a copy: the caller may change the table). */
  values(): Pending[] {
    const out: Pending[] = [];
    for (let k = this.#head; k < this.#slots.length; k++) {
      const p = this.#slots[k];
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  #put(k: number, pending: Pending): void {
    const slots = this.#slots;
    while (slots.length < k) slots.push(undefined);
    if (slots[k] === undefined) this.#size++;
    slots[k] = pending;
  }

  #reset(first: number): void {
    // A short list is emptied in place: its storage is kept for the next event (a sequential
    // caller empties the table every round trip, and a new list was two allocations each time).
    if (this.#slots.length <= 64) this.#slots.length = 0;
    else this.#slots = [];
    this.#first = first;
    this.#head = 0;
    this.#size = 0;
  }
}

/** A round batch of several events, by its number (its first event's), while any is undecided. */
interface RoundBatch {
  readonly events: readonly OutEvent[];
  left: number;
  /** Each participant's events, as staged there: its proposals answer these. */
  readonly parts: ReadonlyMap<string, Part>;
}

/** A participant's part of a round batch: its events in seq order. */
interface Part {
  readonly events: OutEvent[];
}

/** Why an event's caller fails: a core code, or a wire code from encoding its frame (E_TOO_LARGE). */
type Refusal = CapbusError | WireError;

export class Sender {
  readonly #ctx: SenderContext;
  readonly #outbox: Outbox;
  readonly #pending = new PendingTable();
  /** Destroys whose pick has started (spec/ordering.md §9 step 2). */
  readonly #picking = new WeakSet<OutEvent>();
  /** Destroys waiting, before their pick start, for holders' links: when they give up waiting. */
  readonly #holderWait = new Map<OutEvent, number>();
  /** Answers owed by participants, under the answer timeout (spec/guarantees.md §4.6). */
  readonly #answers: Answers;
  #eventSeq = 0;
  /** A decision waits for the clock's room (H2b) and a timer will retry it. */
  #roomTimer = false;
  /** The Runtime clock as read once in this turn (#now), or undefined. */
  #turnNow: number | undefined = undefined;
  /** Frames gathered in this turn: fast batches and batch commits (B2, B5). */
  readonly #writer: BatchWriter;
  /**
   * The open batch (B5): batchable messages not yet on the wire since the last seal, in send
   * order. Fast unicasts that B4 holds back stay here across turns while they all go to one peer.
   */
  #open: OutEvent[] = [];
  #openBytes = 0;
  /** Round batches of several events with an undecided event, by number. */
  readonly #batches = new Map<number, RoundBatch>();
  /** Decided multicasts whose commits wait for their signature, by batch number (or seq). */
  readonly #toSign = new Map<number, Signing>();
  /** Signatures under way: a close waits for their commits. */
  #signing = 0;
  /** Messages sent (stats). */
  sent = 0;
  /** Send-to-decided times of staged rounds, and send-to-accept times of fast-path events (stats). */
  readonly rounds = new LatencyWindow();
  readonly fast = new LatencyWindow();

  constructor(ctx: SenderContext) {
    this.#ctx = ctx;
    this.#writer = new BatchWriter(
      {
        session: (peer) => ctx.links.get(peer),
        clock: () => ctx.clock.value,
        refused: (peer, entries, error) => this.#refusedFast(peer, entries, error),
        sent: (peer, first) => this.#owe(peer, first),
        turnEnd: () => this.#closeOpen(false),
        answers: ctx.answers,
      },
      ctx.batchCaps,
    );
    this.#outbox = new Outbox(ctx.clock, {
      sendFast: (event) => this.#sendFast(event),
      ready: (event) => this.#ready(event),
      decided: (event) => this.#decided(event),
      refused: (event) => this.#refused(event),
    });
    this.#answers = new Answers({
      now: () => this.#now(),
      setTimer: (ms, fn) => ctx.runtime.setTimer(ms, fn),
      owes: (peer, seq) => {
        const event = this.#pending.get(seq)?.event;
        return event !== undefined && !event.decided && event.destinations.get(peer)?.state === "pending";
      },
      expire: (peer) => ctx.unanswered(peer),
    });
  }

  /** This peer's events not yet decided. */
  get undecided(): number {
    return this.#outbox.pending + this.#signing;
  }

  /** A number from the event sequence, for a frame that must not clash with events (a claim). */
  nextSeq(): number {
    return ++this.#eventSeq;
  }

  /** Re-run the causality rule (a link came up, a wait ended). */
  advance(): void {
    this.#outbox.advance();
  }

  /** An answer from `from` for event `seq`: propose/dead, accept or reject. */
  proposed(seq: number, from: string, lamport: number, dead: readonly number[]): void {
    this.#withEvent(seq, from, (e) => {
      if (e.fast) throw new CapbusError("E_PROTOCOL", `a proposal for event ${seq}, a fast unicast`);
      const stray = dead.find((node) => !this.#namedAt(seq, from, node));
      // A dead node the event never named there would be read as "every named node alive".
      if (stray !== undefined) {
        throw new CapbusError(
          "E_PROTOCOL",
          `${from} answered dead for node ${stray}, not named to it in event ${seq}`,
        );
      }
      this.#outbox.proposed(e, from, lamport, dead);
    });
  }

  accepted(seq: number, from: string, lamport: number): void {
    // No callback made per accept: one per request/reply round trip.
    const e = this.#answered(seq, from);
    if (e === undefined) return;
    if (!e.fast) throw new CapbusError("E_PROTOCOL", `an accept for event ${seq}, a staged round`);
    this.#outbox.accepted(e, lamport);
  }

  /**
   * A fast batch's `accepts` (spec/wire.md §5.20): events `first` to `first + count - 1` were
   * committed at `lamport` by `from`, except those refused.
   */
  acceptedBatch(
    from: string,
    first: number,
    count: number,
    lamport: number,
    refusals: readonly BatchRefusal[],
  ): void {
    if (count > this.#ctx.batchCaps.maxEvents || first + count - 1 > this.#eventSeq)
      throw new CapbusError("E_PROTOCOL", `${from} accepted events ${first}+${count}, never sent as a batch`);
    const refused = refusals.length === 0 ? undefined : byEvent(refusals);
    // One frame answered (its answer is owed per frame, see #sentFast): no closure, lookup or
    // outbox scan per event.
    this.#answers.answeredRange(from, first, count);
    for (let seq = first; seq < first + count; seq++) {
      const e = this.#pending.get(seq);
      // An answer for an event already decided or dropped (aborted) is stale, not an error.
      if (e === undefined) continue;
      if (!e.destinations.has(from))
        throw new CapbusError("E_PROTOCOL", `${from} answered for event ${seq}, not sent to it`);
      if (!e.fast) throw new CapbusError("E_PROTOCOL", `an accept for event ${seq}, a staged round`);
      const r = refused?.get(seq);
      if (r) this.#outbox.refused(e, from, r.code, r.node);
      else this.#outbox.accepted(e, lamport, false);
    }
    this.#outbox.advance();
  }

  /**
   * Accepts from `from` for runs of this peer's fast events (B7: an `accepts` answering several
   * batches, or accepts riding on a fast frame of `from`'s own): each run as one `accepts`.
   */
  acceptedRuns(
    from: string,
    runs: readonly (readonly [number, number, number])[],
    refusals: readonly BatchRefusal[],
  ): void {
    // Indexed, not `for (const [a, b, c] of runs)`: that walks an iterator per run and per tuple
    // (0.5 us per round trip in row 3's profile).
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      const first = run[0];
      const count = run[1];
      // A lone unicast's accept (a reply carrying its request's): no refusal map to build.
      if (count === 1 && refusals.length === 0) this.accepted(first, from, run[2]);
      else this.acceptedBatch(from, first, count, run[2], refusals);
    }
  }

  /**
   * A round batch's `proposals` from `from` (spec/wire.md §5.22): one proposal for each of its
   * events staged there, except those refused; `destroyed` lists nodes already destroyed.
   */
  proposedBatch(
    from: string,
    batch: number,
    lamport: number,
    refusals: readonly BatchRefusal[],
    destroyed: readonly (readonly [number, readonly number[]])[],
  ): void {
    const round = this.#batches.get(batch);
    if (round === undefined) {
      if (batch > this.#eventSeq)
        throw new CapbusError("E_PROTOCOL", `${from} answered batch ${batch}, never sent`);
      return; // decided or dropped already: stale
    }
    const refused = byEvent(refusals);
    const dead = new Map(destroyed.map(([seq, nodes]) => [seq, nodes]));
    // Only the events staged at `from` (no scan of every event's participants).
    const part = round.parts.get(from)?.events ?? NO_EVENTS;
    for (const e of part) {
      if (e.decided || !this.#pending.has(e.seq)) continue;
      this.#answers.answered(from, e.seq);
      const r = refused.get(e.seq);
      if (r) this.#outbox.refused(e, from, r.code, r.node);
      else this.#outbox.proposed(e, from, lamport, dead.get(e.seq) ?? [], false);
    }
    this.#outbox.advance();
  }

  /** A `reject` from `from`, naming the bad node or not (spec/wire.md §5.9). */
  refused(seq: number, from: string, code: CoreErrorCode, node?: number): void {
    this.#withEvent(seq, from, (e) => this.#outbox.refused(e, from, code, node));
  }

  /** The link to `remote` is gone: it takes no further part in any undecided event. */
  lost(remote: string): void {
    this.#answers.forget(remote);
    for (const pending of this.#pending.values()) {
      if (pending.event.destinations.has(remote)) this.#outbox.failed(pending.event, remote, "E_LINK_CLOSED");
    }
  }

  /** The peer is aborted: every undecided event fails. */
  abortAll(error: CapbusError): void {
    for (const pending of this.#pending.values())
      if (!pending.event.decided) this.drop(pending.event.seq, error);
  }

  send(targets: readonly Handle[], payload: unknown, options: SendOptions): Promise<SendResult> {
    if (targets.length === 0) throw new CapbusError("E_NO_HANDLE", "send needs at least one destination");
    const carriedHandles = options.handles ?? NONE;
    for (const handle of targets) this.#ctx.assertUsable(handle);
    for (const handle of carriedHandles) this.#ctx.assertUsable(handle);
    if (options.signal?.aborted) throw abortedBy(options.signal);
    const fitsBatch = assertBatchable(payload);
    if (targets.length === 1 && carriedHandles.length === 0)
      return this.#sendOne(targets[0] as Handle, payload, options.signal, fitsBatch);

    const order = targets.map((h) => ({ peer: h.owner, node: h.nodeId }));
    const destinations = new Participants();
    // A node named twice is twice in its peer's list (no name string built per target).
    for (const { peer, node } of order) {
      const dest = destinations.get(peer);
      if (dest?.nodes.includes(node))
        throw new CapbusError("E_DUPLICATE", `${nodeName(peer, node)} is named twice`);
      if (dest) (dest.nodes as number[]).push(node);
      else destinations.set(peer, participant(peer, "deliver", [node]));
    }
    const carried = carriedHandles.length === 0 ? NO_REFS : uniqueRefs(carriedHandles);
    // Owners of carried handles take part in the round (spec/ordering.md §11); this peer counts its own itself.
    for (const ref of carried) {
      if (ref.owner === this.#ctx.id || destinations.get(ref.owner)?.role === "deliver") continue;
      const notice = destinations.get(ref.owner);
      if (notice) (notice.nodes as number[]).push(ref.node);
      else destinations.set(ref.owner, participant(ref.owner, "notice", [ref.node]));
    }
    for (const peer of destinations.keys()) {
      if (!this.#ctx.links.get(peer)) throw new CapbusError("E_NO_LINK", `no link to ${peer}`);
    }
    const receivers: string[] = [];
    for (const d of destinations.values()) if (d.role === "deliver") receivers.push(d.peer);
    const ownCounted: number[] = [];
    for (const ref of carried) {
      const owned = ref.owner === this.#ctx.id ? this.#ctx.nodes.get(ref.node) : undefined;
      if (owned && (owned.state === "alive" || owned.state === "destroying")) {
        owned.acquire(receivers);
        ownCounted.push(ref.node);
      }
    }

    // A send with a signal is a round even to one node: a fast unicast on the wire could not be
    // taken back (its receiver commits it), a round can be aborted until it is decided.
    const fast = order.length === 1 && carried.length === 0 && options.signal === undefined;
    // B1: a message carrying handles is a batch of its own, with today's frames and rules.
    // An isolated one (nothing undecided, no batch open this turn) goes at once in today's
    // frames too, so low-load latency does not change.
    const alone = this.#outbox.pending === 0 && !this.#writer.inTurn;
    const batchable = fitsBatch && carried.length === 0 && !alone;
    const event = this.#newEvent("message", fast, destinations);
    this.sent++;
    if (this.#ctx.tracing) {
      this.#ctx.trace({
        peer: this.#ctx.id,
        op: "send",
        event: event.id,
        to: order.map((d) => d.peer),
        nodes: order.map((d) => nodeName(d.peer, d.node)),
        handles: carried.map((r) => nodeName(r.owner, r.node)),
        ...(this.#ctx.traceSummary ? { summary: summarizePayload(payload, this.#ctx.traceSummary) } : {}),
      });
    }
    if (fast) {
      event.body = "unicast";
      event.node = (order[0] as { node: number }).node;
    }
    event.carried = carried;
    event.ownCounted = ownCounted;
    event.order = order;
    event.payload = payload;
    event.batchable = batchable;
    return this.#launch(event, options.signal, alone, receivers);
  }

  /** Peer.send's common case: one usable handle (checked by the caller), no handles carried. */
  sendUnicast(target: Handle, payload: unknown, signal: AbortSignal | undefined): Promise<SendResult> {
    if (signal?.aborted) throw abortedBy(signal);
    return this.#sendOne(target, payload, signal, assertBatchable(payload));
  }

  /**
   * Peer.request's send (a fast unicast, no signal): as sendUnicast, its result handed to
   * `settle` (or its failure to `fail`) when decided, with no promise and reaction per request.
   */
  sendUnicastThen(
    target: Handle,
    payload: unknown,
    settle: (result: SendResult) => void,
    fail: (error: unknown) => void,
  ): void {
    const event = this.#unicastEvent(target, payload, undefined, assertBatchable(payload));
    event.resolve = settle;
    event.dropped = fail;
    this.#start(event, undefined, event.alone, undefined);
  }

  /**
   * The common send: one destination node, no handles. No destination list, name set or
   * receivers list: the event's fields hold its target.
   */
  #sendOne(
    target: Handle,
    payload: unknown,
    signal: AbortSignal | undefined,
    fitsBatch: boolean,
  ): Promise<SendResult> {
    const event = this.#unicastEvent(target, payload, signal, fitsBatch);
    return this.#launch(event, signal, event.alone, undefined);
  }

  /** #sendOne's event, made and traced, not started. */
  #unicastEvent(
    target: Handle,
    payload: unknown,
    signal: AbortSignal | undefined,
    fitsBatch: boolean,
  ): Pending {
    const peer = target.owner;
    if (!this.#ctx.links.get(peer)) throw new CapbusError("E_NO_LINK", `no link to ${peer}`);
    const destinations = new Participants(participant(peer, "deliver", [target.nodeId]));
    // A signal makes it a round (see send).
    const fast = signal === undefined;
    const alone = this.#outbox.pending === 0 && !this.#writer.inTurn;
    const event = this.#newEvent("message", fast, destinations);
    this.sent++;
    if (this.#ctx.tracing) {
      this.#ctx.trace({
        peer: this.#ctx.id,
        op: "send",
        event: event.id,
        to: [peer],
        nodes: [target.name],
        handles: [],
        ...(this.#ctx.traceSummary ? { summary: summarizePayload(payload, this.#ctx.traceSummary) } : {}),
      });
    }
    if (fast) {
      event.body = "unicast";
      event.node = target.nodeId;
    }
    event.target = target;
    event.payload = payload;
    event.batchable = fitsBatch && !alone;
    event.alone = alone;
    return event;
  }

  /** The caller's promise; the event is staged, sent, or joins the open batch. */
  #launch(
    event: Pending,
    signal: AbortSignal | undefined,
    alone: boolean,
    receivers: string[] | undefined,
  ): Promise<SendResult> {
    const promise = new Promise<SendResult>(takeSettlers);
    event.resolve = settlers.resolve as (result: SendResult) => void;
    event.dropped = settlers.reject as (error: Refusal) => void;
    this.#start(event, signal, alone, receivers);
    return promise;
  }

  /** Start `event` (its caller's settlers set): staged, sent, or into the open batch. */
  #start(
    event: Pending,
    signal: AbortSignal | undefined,
    alone: boolean,
    receivers: string[] | undefined,
  ): void {
    if (signal) this.#listen(event, signal);
    this.#pending.set(event.seq, event);
    try {
      this.#enqueue(event, alone, receivers);
    } catch (error) {
      // As when this ran inside the promise's executor: a throw rejects the caller's promise.
      (event.dropped as (error: unknown) => void)(error);
    }
  }

  /** Abort the send when `signal` aborts (a method of its own: #launch then captures nothing). */
  #listen(event: Pending, signal: AbortSignal): void {
    event.signal = signal;
    event.onAbort = () => this.abortSend(event.seq);
    signal.addEventListener("abort", event.onAbort, { once: true });
  }

  #enqueue(event: Pending, alone: boolean, receivers: string[] | undefined): void {
    const payload = event.payload;
    if (!event.batchable || alone) {
      if (alone)
        this.#writer.schedule(); // what follows it in this turn is batched
      else this.#seal();
      if (!event.fast) {
        event.sent = true;
        if (!this.#stage(event, payload, event.carried, receivers ?? receiversOf(event))) return;
      }
      return this.#outbox.add(event);
    }
    // B5: it joins the open batch. A fast unicast B4 lets go now leaves it at once (B6).
    this.#open.push(event);
    this.#openBytes += roughSize(payload);
    this.#outbox.add(event);
    if (this.#open.length >= this.#ctx.batchCaps.maxEvents || this.#openBytes >= this.#ctx.batchCaps.maxBytes)
      this.#closeOpen(true);
    else this.#writer.schedule();
  }

  /** B1, B5: the open batch takes no more events (a singleton or a cap follows). */
  #seal(): void {
    this.#closeOpen(true);
  }

  /**
   * The open batch is due (end of turn) or sealed. Fast unicasts to one peer that B4 holds back
   * stay open (B5), or stay held as they are once sealed. Anything else becomes round batches,
   * staged now whatever is undecided (B4: rounds pipeline); held unicasts in it become rounds.
   */
  #closeOpen(sealed: boolean): void {
    if (this.#open.length === 0) return;
    const open = this.#open.filter((e) => !e.sent && !e.decided && this.#pending.has(e.seq));
    this.#open = [];
    this.#openBytes = 0;
    if (open.length === 0) return;
    if (open.every((e) => e.fast) && onePeer(open)) {
      if (!sealed) {
        this.#open = open;
        for (const e of open) this.#openBytes += roughSize(this.#pending.get(e.seq)?.payload);
      }
      return;
    }
    const caps = this.#ctx.batchCaps;
    let chunk: OutEvent[] = [];
    let bytes = 0;
    for (const e of open) {
      e.fast = false;
      chunk.push(e);
      bytes += roughSize(this.#pending.get(e.seq)?.payload);
      if (chunk.length >= caps.maxEvents || bytes >= caps.maxBytes) {
        this.#stageBatch(chunk);
        chunk = [];
        bytes = 0;
      }
    }
    if (chunk.length > 0) this.#stageBatch(chunk);
  }

  /**
   * Stage a round batch (B2): each participant gets one frame with only its own events, or
   * today's `stage` when it has one. A batch of one event is today's round.
   */
  #stageBatch(events: OutEvent[]): void {
    for (const e of events) e.sent = true;
    if (events.length === 1) {
      const e = events[0]!;
      this.#stage(e, this.#pending.get(e.seq)?.payload, NO_REFS, receiversOf(e));
      return;
    }
    const batch = events[0]!.seq;
    for (const e of events) e.batch = batch;
    const parts = new Map<string, Part>();
    for (const e of events) {
      for (const dest of e.destinations.values()) {
        if (dest.state === "failed") continue;
        const part = parts.get(dest.peer);
        if (part) part.events.push(e);
        else parts.set(dest.peer, { events: [e] });
      }
    }
    this.#batches.set(batch, { events, left: events.length, parts });
    const refused = new Map<OutEvent, Refusal>();
    const staged = new Map<OutEvent, Set<OutDestination>>();
    const once = parts.size > 1 ? this.#encodeOnce(events) : undefined;
    // Receiver lists are the same for every participant's frame: worked out once per batch.
    const groups = parts.size > 1 ? receiverGroups(events) : undefined;
    for (const [peer, part] of parts) {
      const list = refused.size === 0 ? part.events : part.events.filter((e) => !refused.has(e));
      if (list.length === 0) continue;
      for (const [e, error] of this.#stageAt(peer, batch, list, once, groups)) refused.set(e, error);
      for (const e of list) {
        if (refused.has(e)) continue;
        const at = staged.get(e) ?? new Set<OutDestination>();
        staged.set(e, at);
        at.add(e.destinations.get(peer) as OutDestination);
        this.#owe(peer, e.seq);
      }
    }
    for (const [e, error] of refused) this.#refuse(e, staged.get(e) ?? new Set(), error);
  }

  /**
   * One participant's frame of a round batch: `stages`, or `stage` for a single event. Returns the
   * events the session refused (a batch too large for the frame limit is retried event by event).
   */
  #stageAt(
    peer: string,
    batch: number,
    list: readonly OutEvent[],
    once?: ReadonlyMap<number, EncodedPayload>,
    groups?: BatchGroups,
  ): Map<OutEvent, Refusal> {
    const refused = new Map<OutEvent, Refusal>();
    const clock = this.#ctx.clock.value;
    const payload = (e: OutEvent) => once?.get(e.seq) ?? this.#pending.get(e.seq)?.payload;
    try {
      if (list.length === 1) {
        const e = list[0]!;
        const dest = e.destinations.get(peer) as OutDestination;
        const receivers = receiversOf(e);
        const session = this.#ctx.links.get(peer);
        if (session && receivers.length >= 2 && peer !== this.#ctx.id)
          for (const r of receivers) this.#hintPeer(session, r);
        this.#writer.offer(peer, {
          type: "stage",
          event: e.seq,
          clock,
          nodes: [...dest.nodes],
          payload: payload(e),
          handles: [],
          receivers,
        });
      } else {
        this.#writer.offer(peer, {
          type: "stages",
          event: batch,
          clock,
          events: list.map((e) => e.seq),
          targets: list.map((e) => [...(e.destinations.get(peer) as OutDestination).nodes]),
          payloads: list.map(payload),
          ...this.#receiverGroups(peer, list, groups ?? receiverGroups(list)),
        });
      }
    } catch (error) {
      const r = refusal(error);
      if (!r) throw error;
      if (list.length > 1 && (r.code === "E_TOO_LARGE" || r.code === "E_BACKPRESSURE")) {
        for (const e of list)
          for (const [x, why] of this.#stageAt(peer, batch, [e], once, groups)) refused.set(x, why);
      } else for (const e of list) refused.set(e, r);
    }
    return refused;
  }

  /** Tell `session`'s remote where co-destination `peer` listens, once per session (T1). */
  #hintPeer(session: LinkSession, peer: string): void {
    if (peer !== session.remote && peer !== this.#ctx.id) this.#ctx.links.hint(session, peer);
  }

  /**
   * A `stages` frame's receiver lists (spec/wire.md §5.21, T1): the distinct lists once, an index
   * per event; left out when every event is staged at one peer. Co-destinations get hints.
   */
  #receiverGroups(
    peer: string,
    list: readonly OutEvent[],
    batch: BatchGroups,
  ): { groups?: string[][]; receivers?: number[] } {
    if (list.every((e) => (batch.lists[batch.of.get(e) as number] as string[]).length < 2)) return {};
    // The batch's group numbers, renumbered in order of first use in this participant's frame.
    const groups: string[][] = [];
    const local = new Map<number, number>();
    const receivers = list.map((e) => {
      const g = batch.of.get(e) as number;
      let at = local.get(g);
      if (at === undefined) {
        at = groups.push(batch.lists[g] as string[]) - 1;
        local.set(g, at);
      }
      return at;
    });
    const session = this.#ctx.links.get(peer);
    if (session && peer !== this.#ctx.id)
      for (const group of groups) if (group.length >= 2) for (const r of group) this.#hintPeer(session, r);
    return { groups, receivers };
  }

  /**
   * The payloads of a round batch's events staged at several participants, each encoded once for
   * all their frames instead of once per participant (at a `stages` frame's depth, which holds for
   * a `stage` too). One that cannot be encoded is left out: its frames refuse it as before.
   */
  #encodeOnce(events: readonly OutEvent[]): Map<number, EncodedPayload> {
    const once = new Map<number, EncodedPayload>();
    for (const e of events) {
      if (e.destinations.size < 2) continue;
      const encoded = encodeOnce(this.#pending.get(e.seq)?.payload, 3);
      if (encoded !== undefined) once.set(e.seq, encoded);
    }
    return once;
  }

  /** Fast unicasts their session did not take (at the end of the turn): their callers fail. */
  #refusedFast(peer: string, entries: readonly FastEntry[], error: Refusal): void {
    for (const { event } of entries) {
      const pending = this.#pending.get(event.seq);
      if (!pending || event.decided) continue;
      pending.refused = error;
      this.#outbox.failed(event, peer, error instanceof CapbusError ? error.code : "E_ABORTED");
    }
  }

  /**
   * Stage a round at its participants. A frame the session refuses (too large, or its send
   * queue full) drops the whole round before it is decided: false.
   */
  #stage(event: OutEvent, raw: unknown, carried: readonly HandleRef[], receivers: string[]): boolean {
    const staged = new Set<OutDestination>();
    // A multicast's payload is encoded once for all its stage frames.
    const payload = receivers.length > 1 ? (encodeOnce(raw, 2) ?? raw) : raw;
    // One copy for all its frames (never changed once offered), not one per participant.
    const handles = [...carried];
    try {
      for (const dest of event.destinations.values()) {
        const session = this.#ctx.links.get(dest.peer);
        if (session && dest.role === "deliver" && dest.peer !== this.#ctx.id) {
          for (const ref of carried) this.#ctx.links.hint(session, ref.owner);
          // T1: where its co-destinations listen, should they have to ask each other.
          if (receivers.length >= 2) for (const r of receivers) this.#hintPeer(session, r);
        }
        const base = { event: event.seq, clock: this.#ctx.clock.value, nodes: [...dest.nodes] };
        if (dest.role === "deliver")
          this.#writer.offer(dest.peer, {
            type: "stage",
            ...base,
            payload,
            handles,
            receivers,
          });
        else this.#writer.offer(dest.peer, { type: "notice", ...base, receivers });
        staged.add(dest);
        this.#owe(dest.peer, event.seq);
      }
      return true;
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      this.#refuse(event, staged, refused);
      return false;
    }
  }

  /** Drop an event some of whose frames were never sent: abort it only where they were. */
  #refuse(event: OutEvent, sent: ReadonlySet<OutDestination>, error: Refusal): void {
    for (const dest of event.destinations.values()) {
      if (sent.has(dest)) continue;
      dest.state = "failed";
      dest.code = error instanceof CapbusError ? error.code : "E_ABORTED";
    }
    this.drop(event.seq, error);
  }

  /** The message's final is decided: commit where it is taken, give back unused references. */
  #commitMessage(event: Pending): SendResult {
    const final = event.final;
    const carrying = event.carried.length > 0;
    // A unicast's result builds its timestamp when read (UnicastResult).
    const ts =
      final === undefined || event.target !== undefined
        ? undefined
        : { lamport: final, peer: this.#ctx.id, seq: event.seq };
    const dead = ts && carrying ? this.#deadCarried(event, ts) : NO_REFS;
    if (final !== undefined && !event.fast && this.#ctx.sign && receiversOf(event).length >= 2) {
      this.#signLater(event, final, dead);
    } else if (final !== undefined && !event.fast) {
      for (const dest of event.destinations.values()) {
        if (liveNodes(dest).length === 0) continue;
        // One commits frame per participant for a batch's events (B2); handles travel alone (B1).
        if (dead.length > 0)
          this.#writer.send(dest.peer, { type: "commit", event: event.seq, lamport: final, dead: [...dead] });
        else this.#writer.commit(dest.peer, event.batch, final, event.seq);
      }
    }
    if (carrying) this.#giveBackCarried(event, final);
    const target = event.target;
    if (target) {
      // A unicast's one result names its target by the handle's own name (no string built).
      const committed = committedAt(event, target.owner, target.nodeId);
      const code = committed ? undefined : missedCode(event, target.owner, target.nodeId);
      return new UnicastResult(this.#ctx.id, event.seq, final, target.name, code);
    }
    return new MulticastResult(this.#ctx.id, event);
  }

  /**
   * Carried handles that arrive dead (their node destroyed before `ts`). Apart from
   * #commitMessage, so that the common message, carrying none, allocates no closure context.
   */
  #deadCarried(event: Pending, ts: Timestamp): HandleRef[] {
    return deadHandles(
      event,
      event.carried,
      (n) => this.#ctx.nodes.get(n)?.destroyedBefore(ts) ?? true,
      this.#ctx.id,
    );
  }

  /** Give back the references of carried handles that no receiver took (spec/ordering.md §11). */
  #giveBackCarried(event: Pending, final: number | undefined): void {
    const { carried, ownCounted } = event;
    const counted = (owner: string, node: number) => {
      if (owner === this.#ctx.id) return ownCounted.includes(node);
      const dest = event.destinations.get(owner);
      return dest?.state === "proposed" && !dest.dead.includes(node);
    };
    const gotIt = (peer: string) => final !== undefined && liveNodes(event.destinations.get(peer)).length > 0;
    const back = referencesToGiveBack(event, carried, counted, gotIt);
    if (back.length > 0) {
      // After this callback: the outbox is mid-decision, and these are new events of this peer.
      queueMicrotask(() => {
        for (const { ref, holder } of back) this.release(ref.owner, ref.node, 1, holder);
      });
    }
  }

  /**
   * A multicast's commits carry the sender's signature of its final (spec/ordering.md §16): one
   * per round, or per round batch (its events are decided in one go, so they are gathered by the
   * end of this turn), never one per destination. Its commits go once it is signed.
   */
  #signLater(event: OutEvent, final: number, dead: readonly HandleRef[]): void {
    const k = event.batch ?? event.seq;
    let group = this.#toSign.get(k);
    if (!group) {
      group = { batch: event.batch, final, dead, events: [] };
      this.#toSign.set(k, group);
      this.#signing++;
      queueMicrotask(() => this.#sign(k));
    }
    group.events.push(event);
  }

  #sign(k: number): void {
    const group = this.#toSign.get(k);
    if (!group || !this.#ctx.sign) return;
    this.#toSign.delete(k);
    const seqs = group.events.map((e) => e.seq);
    const first = group.batch ?? (seqs[0] as number);
    const last = seqs[seqs.length - 1] as number;
    const proof = { lamport: group.final, first, last, skip: skipped(first, last, seqs), dead: group.dead };
    const done = (sig: Uint8Array | undefined) => {
      this.#signing--;
      this.#writeSigned(group, proof, sig);
      this.#ctx.wakeIdle();
    };
    // A key that cannot sign still commits: unsigned, the event just cannot be reconciled.
    // A synchronous signer lets the commits go in this turn; WebCrypto's answer comes a turn later.
    let signed: Uint8Array | Promise<Uint8Array>;
    try {
      signed = this.#ctx.sign(finalStatement(this.#ctx.id, proof));
    } catch {
      return done(undefined);
    }
    if (signed instanceof Uint8Array) done(signed);
    else signed.then(done, () => done(undefined));
  }

  #writeSigned(group: Signing, proof: Omit<FinalProof, "sig">, sig: Uint8Array | undefined): void {
    const byPeer = new Map<string, number[]>();
    for (const e of group.events) {
      for (const dest of e.destinations.values()) {
        if (liveNodes(dest).length === 0) continue;
        const list = byPeer.get(dest.peer);
        if (list) list.push(e.seq);
        else byPeer.set(dest.peer, [e.seq]);
      }
    }
    const { lamport, first, last, skip, dead } = proof;
    if (group.batch === undefined) {
      // A round's commit is the same for every participant: one body for all (never changed once sent).
      const commit = {
        type: "commit" as const,
        event: first,
        lamport,
        dead: [...dead],
        ...(sig ? { sig } : {}),
      };
      for (const peer of byPeer.keys()) this.#writer.send(peer, commit);
      return;
    }
    const signed = sig ? { sig, last, skip: [...skip] } : {};
    for (const [peer, events] of byPeer)
      this.#writer.send(peer, { type: "commits", event: group.batch, lamport, events, ...signed });
  }

  destroy(nodes: readonly Node[]): Promise<Timestamp> {
    if (nodes.length === 0) throw new CapbusError("E_NO_NODE", "destroy needs at least one node");
    const owned = nodes.map((node) => this.#ctx.owned(node));
    for (const o of owned) {
      if (o.state !== "alive") throw new CapbusError("E_DESTROYED", `${o.node.name} is already destroyed`);
    }
    if (new Set(owned).size !== owned.length) throw new CapbusError("E_DUPLICATE", "a node is named twice");
    for (const o of owned) o.state = "destroying";
    const ids = owned.map((o) => o.node.id);
    const destinations = new Participants(participant(this.#ctx.id, "deliver", ids));
    this.#seal(); // B1: a destroy is a batch of its own
    const event = this.#newEvent("destroy", false, destinations);
    this.#ctx.trace({
      peer: this.#ctx.id,
      op: "destroy",
      event: event.id,
      nodes: owned.map((o) => o.node.name),
    });
    return new Promise<Timestamp>((resolve, reject) => {
      event.onDecided = (e) => resolve(this.#commitDestroy(e, owned));
      event.dropped = reject;
      this.#pending.set(event.seq, event);
      const sent = new Set<OutDestination>();
      event.sent = true;
      try {
        this.#stageDestroy(event, ids, this.#holdersOf(owned), sent);
      } catch (error) {
        const refused = refusal(error);
        if (!refused) throw error;
        // Refused before the wire (a frame too large): the nodes were never destroying anywhere.
        for (const o of owned) o.state = "alive";
        return this.#refuse(event, sent, refused);
      }
      this.#outbox.add(event);
    });
  }

  /** Stage the destroy at holders that are not yet its destinations (and at this peer). */
  #stageDestroy(
    event: OutEvent,
    nodes: readonly number[],
    holders: Iterable<string>,
    sent?: Set<OutDestination>,
    answerMs = this.#ctx.answerTimeoutMs,
  ): boolean {
    let added = false;
    const self = event.destinations.get(this.#ctx.id);
    for (const peer of [this.#ctx.id, ...holders]) {
      if (peer !== this.#ctx.id && (event.destinations.has(peer) || !this.#ctx.links.has(peer))) continue;
      if (peer !== this.#ctx.id) event.destinations.set(peer, participant(peer, "deliver", [...nodes]));
      else if (self?.state !== "pending") continue;
      this.#writer.send(peer, {
        type: "destroy",
        event: event.seq,
        clock: this.#ctx.clock.value,
        nodes: [...nodes],
      });
      sent?.add(event.destinations.get(peer) as OutDestination);
      this.#owe(peer, event.seq, answerMs);
      added = peer !== this.#ctx.id || added;
    }
    return added;
  }

  /** Pick start of a destroy (spec/ordering.md §9 step 2): hold new frames, stage at holders added meanwhile. */
  #ready(event: OutEvent): boolean {
    if (!this.#roomToDecide()) return false;
    if (event.kind !== "destroy" || this.#picking.has(event)) return true;
    if (!this.#holdersLinked(event)) return false;
    this.#picking.add(event);
    this.#holderWait.delete(event);
    const nodes = (event.destinations.get(this.#ctx.id)?.nodes ?? []).map(
      (id) => this.#ctx.nodes.get(id) as OwnedNode,
    );
    for (const o of nodes) o.state = "picking";
    // Frames naming the nodes are held from now until the pick: the holders staged now get less
    // than the answer timeout, so those frames' senders hear back within theirs (T6).
    return !this.#stageDestroy(
      event,
      nodes.map((o) => o.node.id),
      this.#holdersOf(nodes),
      undefined,
      pickWindowMs(this.#ctx.answerTimeoutMs),
    );
  }

  /**
   * H2b (spec/ordering.md §2): a final ticks the clock; while that would pass the adopt offset's
   * next millisecond, the decision waits for the wall clock to move on.
   */
  #roomToDecide(): boolean {
    if (this.#ctx.clock.room()) return true;
    if (!this.#roomTimer) {
      this.#roomTimer = true;
      this.#ctx.runtime.setTimer(this.#ctx.clock.waitMs(undefined), () => {
        this.#roomTimer = false;
        this.#outbox.advance();
      });
    }
    return false;
  }

  /**
   * Holders not linked yet (a transfer's receiver still dialling this owner) must be staged at
   * too: wait for their links, within the dial timeout, before the pick start (spec/bootstrap.md).
   */
  #holdersLinked(event: OutEvent): boolean {
    const ids = event.destinations.get(this.#ctx.id)?.nodes ?? [];
    const holders = this.#holdersOf(ids.map((id) => this.#ctx.nodes.get(id) as OwnedNode));
    if (![...holders].some((h) => this.#ctx.links.awaited(h))) return true;
    let deadline = this.#holderWait.get(event);
    if (deadline === undefined) {
      deadline = this.#ctx.runtime.now() + this.#ctx.dialTimeoutMs;
      this.#holderWait.set(event, deadline);
      this.#ctx.runtime.setTimer(this.#ctx.dialTimeoutMs, () => this.#outbox.advance());
    }
    return this.#ctx.runtime.now() >= deadline;
  }

  #commitDestroy(event: OutEvent, owned: readonly OwnedNode[]): Timestamp {
    const ts = { lamport: event.final ?? this.#ctx.clock.value, peer: this.#ctx.id, seq: event.seq };
    for (const o of owned) {
      o.state = "destroyed";
      o.destroyedAt = ts;
    }
    for (const dest of event.destinations.values()) {
      if (dest.state === "proposed") {
        this.#writer.send(dest.peer, { type: "commit", event: event.seq, lamport: ts.lamport, dead: [] });
      }
    }
    this.#ctx.replayHeld();
    return ts;
  }

  /**
   * A release event (spec/ordering.md §10): `holder`'s `count` references to the owner's node go. `returned`: they
   * are references this peer never received (a give-back), not its own handle letting go.
   */
  release(
    owner: string,
    node: number,
    count: number,
    holder: string,
    returned = holder !== this.#ctx.id,
  ): void {
    if (this.#ctx.closed() || !this.#ctx.links.has(owner)) return;
    const destinations = new Participants(participant(owner, "deliver", [node]));
    this.#seal(); // a release goes in a frame of its own
    const event = this.#newEvent("release", true, destinations);
    this.#ctx.trace({
      peer: this.#ctx.id,
      op: "release",
      event: event.id,
      node: nodeName(owner, node),
      ...(returned ? { holder } : {}),
    });
    event.body = "release";
    event.node = node;
    event.count = count;
    event.holder = holder;
    this.#pending.set(event.seq, event);
    this.#outbox.add(event);
  }

  #newEvent(kind: OutKind, fast: boolean, destinations: Participants): Pending {
    // Not on the wire yet: the caller stages it, or the outbox sends it, or its batch closes (B5).
    return new Pending(this.#ctx.id, ++this.#eventSeq, kind, fast, destinations, this.#now());
  }

  #sendFast(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    const peer = pending?.target?.owner ?? onlyPeer(event);
    if (pending?.body === undefined || peer === undefined) return;
    const session = this.#ctx.links.get(peer);
    if (!session) {
      // Never on the wire: recorded as aborted, so no trace owes its delivery (trace.md W10).
      this.#ctx.trace({ peer: this.#ctx.id, op: "abort", event: pending.id });
      return this.#outbox.failed(event, peer, "E_LINK_CLOSED");
    }
    const clock = this.#ctx.clock.value;
    const { node, payload } = pending;
    if (pending.body === "release") {
      const { count, holder } = pending;
      this.#writer.send(peer, { type: "release", event: event.seq, clock, node, count, holder });
      return this.#owe(peer, event.seq);
    }
    if (pending.batchable) {
      // Into the fast batch gathered for the peer, written at the end of the turn (B2, B5); the
      // answer is owed per frame, when the writer writes it (#sentFast).
      this.#leaveOpen(event);
      // The event is its own FastEntry (its node and payload), no entry object made for it.
      this.#writer.unicast(peer, pending, roughSize(payload));
      return;
    }
    try {
      this.#writer.offerUnicast(peer, event.seq, clock, node, payload);
      this.#owe(peer, event.seq);
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      // Inside the outbox's scan: settle it there (a removal would shift the scan), fail the caller.
      pending.refused = refused;
      this.#outbox.failed(event, peer, refused instanceof CapbusError ? refused.code : "E_ABORTED");
    }
  }

  /** A fast unicast of the open batch went on the wire: it leaves the batch (B6). */
  #leaveOpen(event: OutEvent): void {
    const open = this.#open;
    // Mostly the only one, or the first: taken without splice's array of removed elements.
    if (open[open.length - 1] === event) open.pop();
    else if (open[0] === event) open.shift();
    else {
      const i = open.indexOf(event);
      if (i < 0) return;
      open.splice(i, 1);
    }
    this.#openBytes -= roughSize(this.#pending.get(event.seq)?.payload);
  }

  /** One event of a round batch is decided or dropped: the batch is forgotten with its last. */
  #batchDone(event: OutEvent): void {
    if (event.batch === undefined) return;
    const round = this.#batches.get(event.batch);
    if (round && --round.left === 0) this.#batches.delete(event.batch);
  }

  #decided(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    if (!pending) return;
    this.#pending.delete(event.seq);
    this.#batchDone(event);
    unlisten(pending);
    if (pending.refused) {
      // Its own session refused it before the wire: given up, and its caller fails (trace W10).
      this.#ctx.trace({ peer: this.#ctx.id, op: "abort", event: pending.id });
      pending.dropped(pending.refused);
      return this.#ctx.wakeIdle();
    }
    // A fast unicast or release its receiver refused is delivered nowhere: given up (trace W10).
    if (event.final === undefined && refusedAnywhere(event))
      this.#ctx.trace({ peer: this.#ctx.id, op: "abort", event: pending.id });
    if (event.final !== undefined) (event.fast ? this.fast : this.rounds).add(this.#now() - pending.at);
    if (pending.resolve) {
      pending.resolve(this.#commitMessage(pending));
    } else pending.onDecided?.(event);
    this.#ctx.wakeIdle();
  }

  abortSend(seq: number): void {
    const pending = this.#pending.get(seq);
    // A fast unicast on the wire is committed by its receiver: too late to take back.
    if (!pending || pending.event.decided || (pending.event.fast && pending.event.sent)) return;
    this.drop(seq, abortedBy(pending.signal));
  }

  /** Drop an undecided round: tell its participants, give back references, fail the caller. */
  drop(seq: number, error: Refusal): void {
    const pending = this.#pending.get(seq);
    if (!pending) return;
    this.#pending.delete(seq);
    this.#batchDone(pending.event);
    unlisten(pending);
    for (const dest of pending.event.destinations.values()) this.#answers.answered(dest.peer, seq);
    this.#abortEverywhere(pending);
    this.#outbox.remove(pending.event);
    pending.dropped(error);
    this.#ctx.wakeIdle();
  }

  /**
   * A destination refused the round, and every participant has answered (spec/ordering.md §3.3):
   * abort it everywhere. The caller's result says who refused, and that the others were not
   * delivered for that reason.
   */
  #refused(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    if (!pending) return;
    this.#pending.delete(event.seq);
    this.#batchDone(event);
    unlisten(pending);
    this.#abortEverywhere(pending);
    if (pending.resolve) pending.resolve(refusedResult(event, pending.id, pending.targets()));
    this.#ctx.wakeIdle();
  }

  /** Send `abort` to every participant still in the round, trace it, give back references. */
  #abortEverywhere(pending: Pending): void {
    const { event } = pending;
    // A round not staged yet (its batch still open) has no participant to tell.
    if (!event.fast && event.sent) {
      for (const dest of event.destinations.values()) {
        if (dest.state !== "failed") this.#writer.send(dest.peer, { type: "abort", event: event.seq });
      }
    }
    this.#ctx.trace({ peer: this.#ctx.id, op: "abort", event: pending.id });
    if (this.#ctx.closed() || pending.carried.length === 0) return;
    // An owner counted the receivers' references when it proposed, except for nodes it reported dead.
    const counted = (owner: string, node: number) => {
      if (owner === this.#ctx.id) return pending.ownCounted.includes(node);
      const dest = event.destinations.get(owner);
      return dest?.state === "proposed" && !dest.dead.includes(node);
    };
    for (const { ref, holder } of referencesToGiveBack(event, pending.carried, counted, () => false)) {
      this.release(ref.owner, ref.node, 1, holder);
    }
  }

  /** Peers holding a reference to any of these nodes. */
  #holdersOf(nodes: readonly OwnedNode[]): Set<string> {
    const holders = new Set<string>();
    for (const o of nodes) for (const peer of o.references.keys()) holders.add(peer);
    return holders;
  }

  /** Did event `seq` name `node` of `peer` to it (a destination node, or a carried handle)? */
  #namedAt(seq: number, peer: string, node: number): boolean {
    const pending = this.#pending.get(seq);
    if (pending?.event.destinations.get(peer)?.nodes.includes(node)) return true;
    return pending?.carried.some((ref) => ref.owner === peer && ref.node === node) ?? false;
  }

  #withEvent(seq: number, from: string, fn: (event: OutEvent) => void): void {
    const event = this.#answered(seq, from);
    if (event !== undefined) fn(event);
  }

  /** `from` answered event `seq`: the event, or undefined when the answer is stale. */
  #answered(seq: number, from: string): OutEvent | undefined {
    const pending = this.#pending.get(seq);
    if (seq > this.#eventSeq)
      throw new CapbusError("E_PROTOCOL", `${from} answered event ${seq}, never sent`);
    // An answer for a round already decided or dropped (aborted) is stale, not an error.
    if (!pending) return undefined;
    if (!pending.event.destinations.has(from)) {
      throw new CapbusError("E_PROTOCOL", `${from} answered for event ${seq}, not sent to it`);
    }
    this.#answers.answered(from, seq);
    return pending.event;
  }

  /**
   * The Runtime clock, read once per turn (until the microtasks queued so far have run): what it
   * times, send-to-decision latencies and answer deadlines, needs no finer grain, and a stream
   * read it three times per event. In a simulation time does not move within a turn anyway.
   */
  #now(): number {
    if (this.#turnNow === undefined) {
      this.#turnNow = this.#ctx.runtime.now();
      microtask(this.#turnOver);
    }
    return this.#turnNow;
  }

  /** Forgets the clock read for the turn: one function, not a closure per turn. */
  readonly #turnOver = (): void => {
    this.#turnNow = undefined;
  };

  /** `peer` owes an answer to a frame of event `seq` just sent (this peer answers itself at once). */
  #owe(peer: string, seq: number, timeoutMs = this.#ctx.answerTimeoutMs): void {
    if (peer !== this.#ctx.id) this.#answers.sent(peer, seq, timeoutMs);
  }
}

/** A payload encoded once for several frames, or undefined if it cannot be (its frames then refuse it). */
function encodeOnce(payload: unknown, depth: number): EncodedPayload | undefined {
  try {
    return encodePayload(payload, depth);
  } catch {
    return undefined;
  }
}

/** Shared empty lists for the common send that carries no handles. */
const NONE: readonly Handle[] = Object.freeze([]);
const NO_REFS: readonly HandleRef[] = Object.freeze([]);
const NO_NODES: readonly number[] = Object.freeze([]);
const NO_EVENTS: readonly OutEvent[] = Object.freeze([]);

/** E_ABORTED saying why: the signal's reason (a TimeoutError from `AbortSignal.timeout`, say) as its cause. */
export function abortedBy(signal: AbortSignal | undefined, what = "the send"): CapbusError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
  return new CapbusError("E_ABORTED", `${what} was aborted${why ? `: ${why}` : ""}`, { cause: reason });
}

/** `promise`, or E_ABORTED as soon as `signal` aborts (a send waiting for a dial, say). */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    // Not waited for any more: its own failure (a dial that fails) must not go unhandled.
    promise.catch(() => undefined);
    return Promise.reject(abortedBy(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(abortedBy(signal));
    signal.addEventListener("abort", abort, { once: true });
    const done = () => signal.removeEventListener("abort", abort);
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/** Did a message reach `node` of `peer` once decided, and if not, why (a DestinationResult)? */
/** Was a decided message committed at `node` of `peer`? */
function committedAt(event: OutEvent, peer: string, node: number): boolean {
  const dest = event.destinations.get(peer);
  return (
    event.final !== undefined && (event.fast ? dest?.state === "proposed" : liveNodes(dest).includes(node))
  );
}

/** Why a decided message missed `node` of `peer`. */
function missedCode(event: OutEvent, peer: string, node: number): CoreErrorCode {
  const dest = event.destinations.get(peer);
  return dest?.dead.includes(node) ? "E_DESTROYED" : (dest?.code ?? "E_LINK_CLOSED");
}

/**
 * A multicast's SendResult: whether each target took the message is settled now, by number; the
 * id, the timestamp and the destination entries with their node names are built when read, as
 * for a unicast (a stream of multicasts to 8 built 8 names and entries per event, mostly unread).
 */
class MulticastResult implements SendResult {
  readonly ok: boolean;
  readonly #peer: string;
  readonly #seq: number;
  readonly #final: number | undefined;
  readonly #targets: ReadonlyArray<{ readonly peer: string; readonly node: number }>;
  /** Each target's code, in target order; undefined when every target committed. */
  readonly #codes: ReadonlyArray<CoreErrorCode | undefined> | undefined;

  constructor(peer: string, event: Pending) {
    this.#peer = peer;
    this.#seq = event.seq;
    this.#final = event.final;
    const targets = event.targets();
    this.#targets = targets;
    let codes: (CoreErrorCode | undefined)[] | undefined;
    targets.forEach(({ peer: at, node }, i) => {
      if (committedAt(event, at, node)) return;
      codes ??= new Array<CoreErrorCode | undefined>(targets.length).fill(undefined);
      codes[i] = missedCode(event, at, node);
    });
    this.#codes = codes;
    this.ok = codes === undefined;
  }

  /** `<this peer>:<seq>`. */
  get event(): string {
    return `${this.#peer}:${this.#seq}`;
  }

  get ts(): Timestamp | undefined {
    return this.#final === undefined ? undefined : { lamport: this.#final, peer: this.#peer, seq: this.#seq };
  }

  get destinations(): readonly DestinationResult[] {
    return this.#targets.map(({ peer, node }, i) => {
      const code = this.#codes?.[i];
      return { node: nodeName(peer, node), committed: code === undefined, code };
    });
  }

  toJSON(): SendResult {
    const { event, ts, destinations, ok } = this;
    return { event, ts, destinations, ok };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): object {
    return this.toJSON();
  }
}

/**
 * A unicast's SendResult, kept lean (a stream resolves one per event, ~1000 in flight): the id,
 * the timestamp and the one destination's entry are built when read, as Message does for a
 * delivery. Each read gives a fresh (equal) object; JSON and Node's inspect show the fields.
 */
class UnicastResult implements SendResult {
  readonly ok: boolean;
  readonly #peer: string;
  readonly #seq: number;
  readonly #final: number | undefined;
  readonly #node: string;
  readonly #code: CoreErrorCode | undefined;

  constructor(
    peer: string,
    seq: number,
    final: number | undefined,
    node: string,
    code: CoreErrorCode | undefined,
  ) {
    this.ok = code === undefined;
    this.#peer = peer;
    this.#seq = seq;
    this.#final = final;
    this.#node = node;
    this.#code = code;
  }

  /** `<this peer>:<seq>`. */
  get event(): string {
    return `${this.#peer}:${this.#seq}`;
  }

  get ts(): Timestamp | undefined {
    return this.#final === undefined ? undefined : { lamport: this.#final, peer: this.#peer, seq: this.#seq };
  }

  get destinations(): readonly DestinationResult[] {
    return [{ node: this.#node, committed: this.ok, code: this.#code }];
  }

  toJSON(): SendResult {
    const { event, ts, destinations, ok } = this;
    return { event, ts, destinations, ok };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): object {
    return this.toJSON();
  }
}

/** Did a participant refuse the event with a `reject` (not a link that closed)? */
function refusedAnywhere(event: OutEvent): boolean {
  for (const dest of event.destinations.values()) if (dest.refusal) return true;
  return false;
}

/** The result of a round a destination refused: delivered nowhere, each destination's reason. */
function refusedResult(
  event: OutEvent,
  id: string,
  order: ReadonlyArray<{ readonly peer: string; readonly node: number }>,
): SendResult {
  const destinations = order.map(({ peer, node }) => ({
    node: nodeName(peer, node),
    committed: false,
    code: refusedCode(event.destinations.get(peer), node),
  }));
  return { event: id, ts: undefined, destinations, ok: false };
}

/**
 * Why `node` did not get a refused round: its owner's own refusal (only the node the reject named,
 * when it named one of this event's nodes), its link, its destruction, or a refusal elsewhere.
 */
function refusedCode(dest: OutDestination | undefined, node: number): CoreErrorCode {
  const bad = dest?.refusal?.node;
  if (dest?.refusal && (bad === undefined || bad === node || !dest.nodes.includes(bad)))
    return dest.code ?? "E_PROTOCOL";
  if (dest?.state === "failed" && !dest.refusal) return dest.code ?? "E_LINK_CLOSED";
  if (dest?.dead.includes(node)) return "E_DESTROYED";
  return "E_REFUSED_ELSEWHERE";
}

function unlisten(pending: Pending): void {
  if (pending.signal && pending.onAbort) pending.signal.removeEventListener("abort", pending.onAbort);
}

function participant(peer: string, role: "deliver" | "notice", nodes: number[]): OutDestination {
  return { peer, role, nodes, state: "pending", proposal: 0, code: undefined, dead: NO_NODES };
}

function uniqueRefs(handles: readonly Handle[]): HandleRef[] {
  const seen = new Map<string, HandleRef>();
  for (const h of handles) if (!seen.has(h.name)) seen.set(h.name, { owner: h.owner, node: h.nodeId });
  return [...seen.values()];
}

/** One event of a batch refused at its destination (a `refusals` entry, its code mapped). */
export interface BatchRefusal {
  readonly event: number;
  readonly code: CoreErrorCode;
  readonly node: number | undefined;
}

function byEvent(refusals: readonly BatchRefusal[]): Map<number, BatchRefusal> {
  const map = new Map<number, BatchRefusal>();
  for (const r of refusals) map.set(r.event, r);
  return map;
}

/** The one peer a fast event goes to. */
function onlyPeer(event: OutEvent): string | undefined {
  return event.destinations.first()?.peer;
}

/** Do these events all go to one peer (one destination each, the same)? */
function onePeer(events: readonly OutEvent[]): boolean {
  let peer: string | undefined;
  for (const e of events) {
    if (e.destinations.size !== 1) return false;
    for (const { peer: p } of e.destinations.values()) {
      if (peer !== undefined && p !== peer) return false;
      peer = p;
    }
  }
  return true;
}

/** The peers a message is delivered at (a stage frame's `receivers`). */
/** A round batch's distinct receiver lists, and each event's list among them. */
interface BatchGroups {
  readonly lists: readonly string[][];
  readonly of: ReadonlyMap<OutEvent, number>;
}

/**
 * Each event's receiver list once, for all of a batch's frames (was once per participant and
 * event: 8 x 64 joins per batch of a multicast to 8, the sender's largest cost after its writes).
 * Events of one send share nothing, so lists are told apart by content: by the previous event's
 * list first (a stream of multicasts to one group), then by a key.
 */
function receiverGroups(events: readonly OutEvent[]): BatchGroups {
  const lists: string[][] = [];
  const of = new Map<OutEvent, number>();
  const index = new Map<string, number>();
  let last: string[] | undefined;
  let lastAt = -1;
  for (const e of events) {
    const l = receiversOf(e);
    if (last !== undefined && sameList(l, last)) {
      of.set(e, lastAt);
      continue;
    }
    const k = l.join("\u0000");
    let at = index.get(k);
    if (at === undefined) {
      at = lists.push(l) - 1;
      index.set(k, at);
    }
    of.set(e, at);
    last = lists[at];
    lastAt = at;
  }
  return { lists, of };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function receiversOf(event: OutEvent): string[] {
  const receivers: string[] = [];
  for (const d of event.destinations.values()) if (d.role === "deliver") receivers.push(d.peer);
  return receivers;
}
