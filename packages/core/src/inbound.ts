/**
 * The destination's and owner's side of the protocol (spec/ordering.md §3.2, spec/ordering.md §3.4, spec/ordering.md §6, spec/ordering.md §7, spec/ordering.md §9, spec/ordering.md §10, spec/ordering.md §11):
 * checks what arrives against the owner's nodes, counts references, proposes, holds frames during
 * a destroy's pick window, commits, and delivers from the queue in the order.
 */

import type { TraceRecord } from "@capbus/trace";
import type {
  DestroyFrame,
  HandleRef,
  NoticeFrame,
  ReleaseFrame,
  StageFrame,
  StagesFrame,
  UnicastFrame,
  UnicastsFrame,
} from "@capbus/wire";
import { CapbusError, type CoreErrorCode } from "./errors.js";
import type { PeerEvent } from "./events.js";
import type { FinalProof } from "./finals.js";
import { type Handle, nodeName } from "./handles.js";
import { type LossNotice, noticeEvent } from "./losses.js";
import { Message } from "./message.js";
import { HeldFrames, type OwnedNode } from "./owner.js";
import { IncomingQueue, type QueueEntry } from "./queue.js";
import type { Quota } from "./quota.js";
import type { Reconciler, StagedView } from "./reconcile.js";
import { Stalls } from "./stalls.js";
import { compareTimestamps, type HybridClock, type Timestamp } from "./timestamp.js";
import { MAX_TOMBSTONES, Tombstones } from "./tombstones.js";
import { type UnheldDestroy, UnheldDestroys } from "./unheld.js";

/** The handles of a message that carries none (frozen: every such event shares it). */
const NO_HANDLES: readonly Handle[] = Object.freeze([]);

const NO_REFS: readonly HandleRef[] = Object.freeze([]);

const NO_PEERS: readonly string[] = Object.freeze([]);

const NO_NODES: readonly number[] = Object.freeze([]);

const NO_SIG = new Uint8Array(0);

/**
 * The least an unheld destroy is charged to its owner's quota (bytes), whatever its frame's size:
 * the record, its maps' entries and its node list.
 */
const UNHELD_COST = 256;

/** Delivered event numbers remembered per sender to refuse replays. */
const RECENT = 4096;

/**
 * One sender's last RECENT delivered event numbers, in a ring (delivery order), and the highest
 * number ever remembered. A sender's events reach a receiver in send order (their finals grow
 * with their numbers), so a new event's number is above `max` and is told apart without a lookup;
 * only a number at or below it is looked for in the ring (a replay, or a rare late event). A Set
 * beside the ring cost ~200 ns per delivered event (its add, delete and has).
 */
interface Recent {
  readonly ring: number[];
  at: number;
  max: number;
}

/** Was `event` among the last RECENT numbers delivered from its sender? */
function recentHas(recent: Recent | undefined, event: number): boolean {
  return recent !== undefined && event <= recent.max && recent.ring.includes(event);
}

/** What a queue entry holds until it is delivered. */
type Incoming =
  | {
      readonly kind: "message";
      readonly nodes: readonly number[];
      readonly payload: unknown;
      readonly handles: readonly HandleRef[];
      dead: readonly HandleRef[];
      /** Decoded size charged to the sender's quota (0: not charged, e.g. this peer's own). */
      readonly charge: number;
      /** The peers the event is staged at for delivery (spec/ordering.md §16 T1; may be empty). */
      readonly receivers: readonly string[];
    }
  | { readonly kind: "destroy"; readonly nodes: readonly number[] }
  | { readonly kind: "release"; readonly node: number; readonly count: number; readonly holder: string }
  /** A notification for a lost peer, committed where the loss was seen (spec/ordering.md §7.1). */
  | { readonly kind: "lost"; readonly notice: LossNotice };

/** What the inbound side needs from its peer. */
export interface InboundContext {
  readonly id: string;
  readonly clock: HybridClock;
  owned(node: number): OwnedNode | undefined;
  /** The holder's handle to a node, if it has one. */
  handle(name: string): Handle | undefined;
  /** Receive one reference (a live handle in a delivered message). */
  acquire(ref: HandleRef): Handle;
  /** A handle that arrived dead. */
  deadHandle(ref: HandleRef): Handle;
  /**
   * A handle of `owner` is on its way here from `via`: be linked to `owner` (dial it if need be,
   * at the endpoints `via` hinted).
   */
  reach(owner: string, via: string): void;
  /** Did this peer's session with `owner` end, with none since (it sees `owner` as gone)? */
  lost(owner: string): boolean;
  /** Give back a reference this peer was sent but never received (its message was dropped). */
  giveBack(ref: HandleRef): void;
  trace(record: TraceRecord): void;
  /** Is anything recording traces? (Delivery records are not built when nothing is.) */
  readonly tracing: boolean;
  /** `charge`: decoded size the event stays charged to its sender for, until the application reads it. */
  deliver(event: PeerEvent, charge: number): void;
  /** May this peer take up `count` more handles (spec/limits.md §4, `maxHandles`)? */
  roomForHandles(count: number): boolean;
  /** Charges queued events to their senders (spec/limits.md §4). */
  readonly quota: Quota;
  /** How long an entry may stay staged before its sender counts as stuck (trap 3). */
  readonly stageTimeoutMs: number;
  /** An entry staged longer than this counts against its sender's stall budget (T7). */
  readonly stallMs: number;
  setTimer(ms: number, fn: () => void): () => void;
  /** The Runtime clock (ms): when entries were staged, for the oldest staged entry's age. */
  now(): number;
  /** A sender kept an entry staged, or the queue stalled, too long: end its session as if it had crashed. */
  expire(sender: string): void;
  /** An event of `from` was refused with E_QUOTA (stats and logging). */
  overQuota(from: string, event: number): void;
  /** Is there a session with `remote` now? */
  linked(remote: string): boolean;
  /** Asks a multicast's other receivers when its sender's session ends (spec/ordering.md §16). */
  readonly reconciler: Reconciler;
  /**
   * `remote`'s session ended and its queued entries are delivered: drop what this peer's nodes
   * keep for it (credits of its transfers; after a clean close, references it still held).
   */
  forgetPeer(remote: string, clean: boolean): void;
}

/** One event of a batch refused here: `[event, code]`, or `[event, code, node]` naming the node. */
export type BatchRefusalEntry = [number, CoreErrorCode] | [number, CoreErrorCode, number];

/** The reply a stage, notice, unicast, destroy or release gets, or a batch frame (spec/ordering.md §13). */
export type Answer =
  | {
      readonly type: "accepts";
      readonly event: number;
      readonly count: number;
      readonly lamport: number;
      readonly refusals: BatchRefusalEntry[];
    }
  | {
      readonly type: "proposals";
      readonly event: number;
      readonly lamport: number;
      readonly refusals: BatchRefusalEntry[];
      readonly destroyed: [number, number[]][];
    }
  | { readonly type: "propose" | "accept"; readonly event: number; readonly lamport: number }
  | { readonly type: "dead"; readonly event: number; readonly lamport: number; readonly nodes: number[] }
  | {
      readonly type: "reject";
      readonly event: number;
      readonly code: CoreErrorCode;
      /** The node the refusal is about (spec/wire.md §5.9), when it is about one. */
      readonly node?: number;
    };

export type Reply = (answer: Answer) => void;

export class Inbound {
  readonly #queue = new IncomingQueue<Incoming>();
  /** How long each sender keeps entries staged here (spec/guarantees.md §4.5): one timer per sender. */
  readonly #stalls: Stalls;
  /**
   * Staged entries and when they were staged. A Map keeps insertion order and the clock only
   * grows, so the first one is the oldest: its age is read without a scan.
   */
  readonly #stagedAt = new Map<QueueEntry<Incoming>, number>();
  /** Event numbers delivered lately, per sender, so a replay is caught after delivery too. */
  readonly #recent = new Map<string, Recent>();
  /**
   * The highest event number each sender staged here in its session (a round's stage, answered):
   * a sender stages its rounds at a destination in number order, so a query for a lower number
   * that is not staged here will not be (spec/ordering.md §16 T3).
   */
  readonly #stagedUpTo = new Map<string, number>();
  readonly #held = new HeldFrames();
  /**
   * Events aborted while frames were held (B8, B9): a held batch frame is held under its batch's
   * number, so an abort of one of its events is remembered here and the event left out when the
   * frame is answered after the pick.
   */
  readonly #withdrawn = new Map<string, Set<number>>();
  /** Peers whose session ended, to forget once their queued entries are delivered (`clean`: OK). */
  readonly #gone = new Map<string, boolean>();
  /** Third peers' nodes this peer was told are destroyed, and when: a handle arriving later is dead. */
  readonly #tombstones: Tombstones;
  /** Destroys of nodes this peer neither holds nor has on the way in its queue (spec/ordering.md §9). */
  readonly #unheld = new UnheldDestroys();
  /** Queue keys of lost-peer notifications: negative, so they never meet a sender's event number. */
  #notices = 0;
  readonly #ctx: InboundContext;

  constructor(ctx: InboundContext) {
    this.#ctx = ctx;
    // Kept twice the stage timeout: a message that may carry a destroyed node is either staged
    // here by then (and committed or dropped within the timeout) or never comes (spec/ordering.md §9).
    this.#tombstones = new Tombstones(MAX_TOMBSTONES, 2 * ctx.stageTimeoutMs);
    this.#stalls = new Stalls(ctx);
  }

  /** Tombstones held (stats). */
  get tombstones(): number {
    return this.#tombstones.size;
  }

  /** Senders whose delivered event numbers are remembered to refuse replays (stats). */
  get replaySets(): number {
    return this.#recent.size;
  }

  /**
   * Is the destroy of `owner`'s `node` remembered here, or an unheld destroy of it undecided? An
   * import then fails: the node is destroyed, or being destroyed by an owner that staged its
   * destroy here before the handle came (spec/ordering.md §9, "Unheld destroys").
   */
  tombstoned(owner: string, node: number): boolean {
    return this.#tombstones.get(owner, node) !== undefined || this.#unheld.names(owner, node);
  }

  /** Unheld destroys kept out of the queue, undecided (stats and tests). */
  get unheldDestroys(): number {
    return this.#unheld.size;
  }

  /** Entries staged or committed here and not yet delivered. */
  get size(): number {
    return this.#queue.size;
  }

  /** Entries staged here and not yet committed or dropped. */
  get staged(): number {
    return this.#stagedAt.size;
  }

  /** How long the oldest staged entry has been staged (ms); 0 when none is. */
  oldestStagedMs(now: number): number {
    for (const at of this.#stagedAt.values()) return now - at;
    return 0;
  }

  /** Does an event from `sender` wait in the queue (staged, or committed behind another)? */
  hasFrom(sender: string): boolean {
    return this.#queue.hasFrom(sender);
  }

  stage(from: string, frame: StageFrame, reply: Reply, size = 0): void {
    const { clock, id } = this.#ctx;
    // A stage without handles (the common multicast) builds no node lists, and no retry closure
    // unless a node is in a destroy's pick window.
    const bare = frame.handles.length === 0;
    const carried = bare ? NO_NODES : frame.handles.filter((ref) => ref.owner === id).map((ref) => ref.node);
    const named = carried.length === 0 ? frame.nodes : [...frame.nodes, ...carried];
    const refused = this.#refuse(from, named);
    if (refused) return reply({ type: "reject", event: frame.event, ...refused });
    if (
      this.#anyPicking(named) &&
      this.#holding(from, frame.event, named, () => this.stage(from, frame, reply, size))
    )
      return;
    this.#assertNew(from, frame.event);
    const fresh = bare
      ? 0
      : frame.handles.filter((ref) => !this.#ctx.handle(nodeName(ref.owner, ref.node))).length;
    if (fresh > 0 && !this.#ctx.roomForHandles(fresh)) return this.#overQuota(from, frame.event, reply);
    const destroyed = this.#countDestroyed(frame.nodes);
    const charge = from === id || destroyed === frame.nodes.length ? 0 : size;
    if (charge > 0 && !this.#ctx.quota.charge(from, charge)) return this.#overQuota(from, frame.event, reply);
    for (const ref of frame.handles)
      if (ref.owner !== id && ref.owner !== from) this.#ctx.reach(ref.owner, from);
    // The sender counted its own nodes' references itself when it staged at its own queue.
    let dead = this.#countTransfer(from, from === id ? NO_NODES : carried, frame.receivers);
    let alive: readonly number[] = frame.nodes;
    if (destroyed > 0) {
      dead ??= new Set();
      const kept: number[] = [];
      for (const node of frame.nodes) {
        if (this.#destroyed(node)) dead.add(node);
        else kept.push(node);
      }
      alive = kept;
    }
    if (!bare) this.#carrying(frame.handles, alive.length > 0);
    clock.observe(frame.clock);
    const proposal = clock.tick();
    if (alive.length > 0) {
      const data: Incoming = {
        kind: "message",
        nodes: alive,
        payload: frame.payload,
        handles: frame.handles,
        dead: NO_REFS,
        charge,
        receivers: frame.receivers,
      };
      this.#stage(from, frame.event, proposal, data);
    }
    reply(answer(frame.event, proposal, dead));
    this.#stagedThrough(from, frame.event);
  }

  /** The owner of carried handles takes part in a transfer it delivers nothing of (spec/ordering.md §11). */
  notice(from: string, frame: NoticeFrame, reply: Reply): void {
    const { clock } = this.#ctx;
    const refused = this.#refuse(from, frame.nodes);
    if (refused) return reply({ type: "reject", event: frame.event, ...refused });
    if (this.#holding(from, frame.event, frame.nodes, () => this.notice(from, frame, reply))) return;
    const dead = this.#countTransfer(from, frame.nodes, frame.receivers);
    clock.observe(frame.clock);
    reply(answer(frame.event, clock.tick(), dead));
  }

  /** The fast path: the receiver assigns the final on arrival (spec/ordering.md §6). */
  unicast(from: string, frame: UnicastFrame, reply: Reply, size = 0): void {
    const refused = this.#refuseNode(from, frame.node);
    if (refused) return reply({ type: "reject", event: frame.event, ...refused });
    // #holding's test first, without its node list and retry closure (one of each per frame).
    const state = this.#ctx.owned(frame.node)?.state;
    if (
      (state === "picking" || (this.#held.size > 0 && this.#held.holds(from))) &&
      this.#holding(from, frame.event, [frame.node], () => this.unicast(from, frame, reply, size), true)
    )
      return;
    if (state === "destroyed") return reply({ type: "reject", event: frame.event, code: "E_DESTROYED" });
    const charge = from === this.#ctx.id ? 0 : size;
    if (charge > 0 && !this.#ctx.quota.charge(from, charge)) return this.#overQuota(from, frame.event, reply);
    const data: Incoming = {
      kind: "message",
      nodes: [frame.node],
      payload: frame.payload,
      handles: NO_REFS,
      dead: NO_REFS,
      charge,
      receivers: NO_PEERS,
    };
    reply({ type: "accept", event: frame.event, lamport: this.#commitOnArrival(from, frame, data) });
  }

  /**
   * A fast batch (spec/ordering.md §14, B2): every unicast of it is committed at one final
   * F = max(C, clock) + 1 at (F, sender, event), in send order; refused ones are listed in the
   * one `accepts`. A batch naming a node in a destroy's pick window is held whole (B9).
   */
  unicasts(from: string, frame: UnicastsFrame, reply: Reply, size = 0): void {
    const { clock, id } = this.#ctx;
    if (this.#holding(from, -frame.event, frame.to, () => this.unicasts(from, frame, reply, size), true))
      return;
    const count = frame.to.length;
    for (let i = 0; i < count; i++) this.#assertNew(from, frame.event + i);
    clock.observe(frame.clock);
    const final = clock.tick();
    const share = from === id ? 0 : Math.ceil(size / count);
    const refusals: BatchRefusalEntry[] = [];
    for (let i = 0; i < count; i++) {
      const seq = frame.event + i;
      const node = frame.to[i] as number;
      const refused = this.#refuseNode(from, node);
      if (refused) refusals.push([seq, refused.code, refused.node]);
      else if (this.#destroyed(node)) refusals.push([seq, "E_DESTROYED"]);
      else if (share > 0 && !this.#ctx.quota.charge(from, share)) {
        this.#ctx.overQuota(from, seq);
        refusals.push([seq, "E_QUOTA"]);
      } else this.#commitAt(from, seq, final, node, frame.payloads[i], share);
    }
    this.deliverReady();
    reply({ type: "accepts", event: frame.event, count, lamport: final, refusals });
  }

  /**
   * A round batch staged here (spec/ordering.md §14, B2): one proposal p = max(C, clock) + 1 for
   * every listed event, each staged at (p, sender, event); refused events and nodes already
   * destroyed go back in the one `proposals`. Held whole in a destroy's pick window (B9).
   */
  stages(from: string, batch: StagesFrame, reply: Reply, size = 0): void {
    const { clock, id } = this.#ctx;
    const frame = this.#unwithdrawn(from, batch);
    if (frame === undefined) return; // every event of it was aborted while it was held
    const named = frame.targets.flat();
    // Held under its batch's number negated: an abort names events, never a whole held batch.
    if (this.#holding(from, -frame.event, named, () => this.stages(from, frame, reply, size))) return;
    for (const seq of frame.events) this.#assertNew(from, seq);
    clock.observe(frame.clock);
    const proposal = clock.tick();
    const share = from === id ? 0 : Math.ceil(size / frame.events.length);
    const refusals: BatchRefusalEntry[] = [];
    const destroyed: [number, number[]][] = [];
    frame.events.forEach((seq, i) => {
      const nodes = frame.targets[i] as number[];
      const refused = this.#refuse(from, nodes);
      if (refused) {
        refusals.push([seq, refused.code, refused.node]);
        return;
      }
      const dead = nodes.filter((n) => this.#destroyed(n));
      const charge = dead.length === nodes.length ? 0 : share;
      if (charge > 0 && !this.#ctx.quota.charge(from, charge)) {
        this.#ctx.overQuota(from, seq);
        refusals.push([seq, "E_QUOTA"]);
        return;
      }
      if (dead.length > 0) destroyed.push([seq, dead]);
      if (dead.length === nodes.length) return;
      const alive = dead.length === 0 ? nodes : nodes.filter((n) => !dead.includes(n));
      const data: Incoming = {
        kind: "message",
        nodes: alive,
        payload: frame.payloads[i],
        handles: NO_REFS,
        dead: NO_REFS,
        charge,
        receivers: receiversAt(frame, i),
      };
      this.#stage(from, seq, proposal, data);
    });
    reply({ type: "proposals", event: frame.event, lamport: proposal, refusals, destroyed });
    this.#stagedThrough(from, frame.events[frame.events.length - 1] as number);
  }

  #stagedThrough(from: string, seq: number): void {
    const upTo = Math.max(this.#stagedUpTo.get(from) ?? 0, seq);
    this.#stagedUpTo.set(from, upTo);
    // A held frame (a destroy's pick window) may hold a lower number: it is staged when let go.
    if (!this.#held.holds(from)) this.#ctx.reconciler.stagedThrough(from, upTo);
  }

  /**
   * Has `sender` staged (or had refused) its round `seq`, or a later one, here in this session,
   * with none of its frames held? Then `seq`, unless staged now, will not be.
   */
  stagedBeyond(sender: string, seq: number): boolean {
    return (this.#stagedUpTo.get(sender) ?? 0) >= seq && !this.#held.holds(sender);
  }

  /**
   * A round batch's one final for the listed events staged here (spec/ordering.md §14, B3), with
   * the sender's signature of it when the batch holds a multicast (spec/ordering.md §16).
   */
  commits(
    from: string,
    events: readonly number[],
    final: number,
    signed?: {
      readonly first: number;
      readonly last: number;
      readonly skip: readonly number[];
      readonly sig: Uint8Array;
    },
  ): void {
    const proof = signed && { lamport: final, dead: NO_REFS, ...signed };
    for (const seq of events) this.commit(from, seq, final, NO_REFS, proof);
  }

  /** A holder's release, committed on arrival like a unicast (spec/ordering.md §10). */
  release(from: string, frame: ReleaseFrame, reply: Reply): void {
    // Committed where it is processed, like a fast frame: it waits behind a held frame of its sender.
    if (this.#held.size > 0 && this.#held.holds(from))
      return this.#held.hold(from, frame.event, () => this.release(from, frame, reply));
    const owned = this.#ctx.owned(frame.node);
    if (!owned) return reply({ type: "reject", event: frame.event, code: "E_NO_NODE" });
    // Only a holder releases its own references; another peer only what its transfer counted.
    // Checked before anything moves (the clock, the queue): a peer holding no reference is refused.
    const mine = from === frame.holder || from === this.#ctx.id;
    if (mine ? !owned.allows(from) : !owned.takeCredit(from, frame.holder, frame.count)) {
      return reply({ type: "reject", event: frame.event, code: "E_NO_HANDLE", node: frame.node });
    }
    const data: Incoming = { kind: "release", node: frame.node, count: frame.count, holder: frame.holder };
    reply({ type: "accept", event: frame.event, lamport: this.#commitOnArrival(from, frame, data) });
  }

  /**
   * A destroy staged at a holder: never held (spec/ordering.md §9). One naming only nodes this peer neither holds
   * live nor has on the way in its queue is unheld: answered, but kept out of the queue and the
   * clock (refused with E_QUOTA beyond its owner's share).
   */
  destroy(from: string, frame: DestroyFrame, reply: Reply, size = 0): void {
    const { clock } = this.#ctx;
    this.#assertNew(from, frame.event);
    if (from !== this.#ctx.id && frame.nodes.every((node) => this.#unheldNode(from, node))) {
      return this.#keepUnheld(from, frame, reply, size);
    }
    clock.observe(frame.clock);
    const proposal = clock.tick();
    this.#stage(from, frame.event, proposal, { kind: "destroy", nodes: frame.nodes });
    reply({ type: "propose", event: frame.event, lamport: proposal });
  }

  /**
   * `proof`: the sender's signed final, kept to show the event's other receivers
   * (spec/ordering.md §16); absent, a commit of one round is its own statement, unsigned.
   */
  commit(from: string, seq: number, final: number, dead: readonly HandleRef[], proof?: FinalProof): void {
    const { clock } = this.#ctx;
    const entry = this.#queue.get(from, seq);
    const unheld = entry ? undefined : this.#unheld.get(from, seq);
    if (unheld) return this.#commitUnheld(unheld, final);
    if (!entry || entry.committed) throw new CapbusError("E_PROTOCOL", `commit for event ${seq}, not staged`);
    if (final < entry.lamport) {
      throw new CapbusError("E_PROTOCOL", `final ${final} below the proposal ${entry.lamport}`);
    }
    if (entry.data.kind === "message") entry.data.dead = dead;
    clock.observe(final);
    this.#settled(entry);
    this.#queue.commit(entry, final);
    if (this.#multicast(entry)) {
      const { receivers } = entry.data as { receivers: readonly string[] };
      const kept = proof ?? { lamport: final, first: seq, last: seq, skip: [], dead, sig: NO_SIG };
      this.#ctx.reconciler.settled(from, seq, receivers, kept);
    }
    this.deliverReady();
  }

  /** Is the entry a message staged at other peers too (their receiver lists name someone else)? */
  #multicast(entry: QueueEntry<Incoming>): boolean {
    const data = entry.data;
    const self = this.#ctx.id;
    return entry.sender !== self && data.kind === "message" && data.receivers.some((r) => r !== self);
  }

  /** `sender`'s event `seq` as reconciliation sees it: staged here and not committed. */
  stagedView(sender: string, seq: number): StagedView | undefined {
    const entry = this.#queue.get(sender, seq);
    if (!entry || entry.committed || entry.data.kind !== "message") return undefined;
    return { proposal: entry.lamport, receivers: entry.data.receivers };
  }

  /** Reconciliation dropped `sender`'s event `seq` (spec/ordering.md §16 T4). */
  dropReconciled(sender: string, seq: number): void {
    const entry = this.#queue.get(sender, seq);
    if (!entry || entry.committed) return;
    this.#settled(entry);
    this.#queue.remove(entry);
    this.#uncharge(entry);
    this.deliverReady();
  }

  abort(from: string, seq: number): void {
    if (this.#held.drop(from, seq)) return;
    const unheld = this.#unheld.take(from, seq);
    if (unheld) return this.#ctx.quota.discharge(from, unheld.charge);
    const entry = this.#queue.get(from, seq);
    if (!entry && this.#held.size > 0) {
      // Perhaps in a held batch frame: left out when it is answered.
      const set = this.#withdrawn.get(from) ?? new Set<number>();
      this.#withdrawn.set(from, set.add(seq));
    }
    if (!entry) return this.#ctx.reconciler.settled(from, seq, NO_PEERS, undefined); // refused or never staged here
    if (entry.committed) return; // stale
    this.#settled(entry);
    this.#queue.remove(entry);
    this.#uncharge(entry);
    if (this.#multicast(entry)) this.#ctx.reconciler.settled(from, seq, NO_PEERS, undefined);
    this.deliverReady();
  }

  /** The sender is gone: its staged rounds can never commit, so they stop blocking the queue. */
  /** A new session with `from` starts: event numbers seen in an earlier one no longer count. */
  newSession(from: string): void {
    this.#recent.delete(from);
    this.#stagedUpTo.delete(from);
  }

  /**
   * The session with `from` ended. A multicast of its staged here stays staged, still blocking the
   * queue (its stage timeout done), while its other receivers are asked (spec/ordering.md §16 T2;
   * `key`: the one `from` proved in its handshake); any other staged entry of it goes.
   */
  dropSender(from: string, key: Uint8Array = NO_SIG, learn: (peer: string) => void = () => {}): void {
    this.#held.dropSender(from);
    this.#withdrawn.delete(from);
    for (const entry of this.#queue.staged(from)) {
      const view = this.#multicast(entry) ? this.stagedView(from, entry.seq) : undefined;
      if (view && this.#ctx.reconciler.start(from, entry.seq, view, key, learn)) {
        this.#stalls.settled(from, entry);
        continue;
      }
      this.#settled(entry);
      this.#queue.remove(entry);
      this.#uncharge(entry);
    }
    for (const unheld of this.#unheld.takeOwner(from)) this.#ctx.quota.discharge(from, unheld.charge);
    this.#stalls.forget(from);
    this.deliverReady();
  }

  /**
   * `remote` is lost (spec/ordering.md §7.1): each notice becomes a committed entry at a fresh
   * clock value, above everything queued here and below anything proposed later, and is delivered
   * by the delivery rule like any other entry, so this peer's deliveries keep rising.
   */
  lost(remote: string, notices: readonly LossNotice[]): void {
    for (const notice of notices) {
      this.#queue.insert(remote, -++this.#notices, this.#ctx.clock.tick(), true, { kind: "lost", notice });
    }
    this.deliverReady();
  }

  /**
   * The session with `remote` ended (`clean`: with `OK`). Once every entry it queued here is
   * delivered (its committed events, releases first among them, and loss notices), what is kept
   * per sender goes: its replay set, and through `forgetPeer` what the nodes keep for it.
   * Before, a cleanly closed session left about 1.3 KB behind for good (issue 17).
   */
  gone(remote: string, clean: boolean): void {
    this.#gone.set(remote, clean);
    this.#forgetGone();
  }

  /** Forget the peers gone whose queued entries are all delivered (no clock tick: no new entry). */
  #forgetGone(): void {
    for (const [remote, clean] of this.#gone) {
      if (this.#queue.hasFrom(remote)) continue;
      this.#gone.delete(remote);
      // A new session with it since: what is kept now is that session's.
      if (this.#ctx.linked(remote)) continue;
      this.#queue.forget(remote);
      this.#recent.delete(remote);
      this.#stagedUpTo.delete(remote);
      this.#ctx.forgetPeer(remote, clean);
    }
  }

  /** A destroy of this peer's nodes was picked: answer what was held for it. */
  replayHeld(): void {
    this.#held.replay();
    if (this.#held.size === 0) this.#withdrawn.clear();
  }

  /** A batch frame without the events aborted while it was held; undefined if none is left. */
  #unwithdrawn(from: string, frame: StagesFrame): StagesFrame | undefined {
    const withdrawn = this.#withdrawn.get(from);
    if (withdrawn === undefined || !frame.events.some((e) => withdrawn.has(e))) return frame;
    const keep = frame.events.flatMap((e, i) => (withdrawn.has(e) ? [] : [i]));
    for (const e of frame.events) withdrawn.delete(e);
    if (keep.length === 0) return undefined;
    return {
      ...frame,
      events: keep.map((i) => frame.events[i] as number),
      targets: keep.map((i) => frame.targets[i] as number[]),
      payloads: keep.map((i) => frame.payloads[i]),
    };
  }

  /** Deliver every entry the delivery rule allows (spec/ordering.md §7 D1). */
  deliverReady(): void {
    for (let entry = this.#queue.takeReady(); entry; entry = this.#queue.takeReady()) {
      this.#dequeued(entry);
      this.#deliver(entry.sender, entry.seq, entry.lamport, entry.data);
    }
    if (this.#gone.size > 0) this.#forgetGone();
  }

  #deliver(sender: string, seq: number, lamport: number, data: Incoming): void {
    if (data.kind === "lost") {
      const event = noticeEvent(
        data.notice,
        { lamport, peer: sender, seq: 0 },
        this.#ctx.id,
        this.#ctx.trace,
      );
      if (event) this.#ctx.deliver(event, 0);
      return;
    }
    this.#remember(sender, seq);
    const ts = { lamport, peer: sender, seq };
    if (data.kind === "message") this.#deliverMessage(ts, data, sender);
    else if (data.kind === "destroy") this.#deliverDestroy(eventId(ts), ts, data.nodes);
    else this.#deliverRelease(eventId(ts), ts, data);
  }

  #deliverMessage(ts: Timestamp, data: Extract<Incoming, { kind: "message" }>, sender: string): void {
    const ctx = this.#ctx;
    // The common message, one node and no handles, builds no lists.
    if (data.nodes.length === 1 && data.handles.length === 0)
      return this.#deliverToNode(ts, data.nodes[0] as number, data.payload, data.charge);
    const nodes = data.nodes
      .map((id) => ctx.owned(id))
      .filter((o): o is OwnedNode => o !== undefined && !o.destroyedBefore(ts));
    if (nodes.length === 0) {
      if (data.charge > 0) ctx.quota.discharge(sender, data.charge);
      // Dropped: the destination was destroyed before it. References sent with it go back.
      for (const ref of data.handles) if (!this.#arrivesDead(ref, ts, data.dead)) ctx.giveBack(ref);
      return;
    }
    // Handles in the order sent; those that arrive dead are marked destroyed (spec/ordering.md §9, spec/ordering.md §11).
    // Most messages carry no handles: they share one empty list (memory per queued event).
    const handles =
      data.handles.length === 0
        ? NO_HANDLES
        : data.handles.map((ref) =>
            this.#arrivesDead(ref, ts, data.dead) ? ctx.deadHandle(ref) : ctx.acquire(ref),
          );
    const live = handles.length === 0 ? NO_HANDLES : handles.filter((h) => h.state === "live");
    const dead = handles.length === 0 ? NO_HANDLES : handles.filter((h) => h.state !== "live");
    for (const [i, owned] of nodes.entries()) {
      this.#trace("message", owned.node.name, ts, live, dead);
      const delivered = new Message(owned.node, data.payload, handles, ts);
      // The first delivery carries the charge until the application reads it.
      ctx.deliver(delivered, i === 0 ? data.charge : 0);
    }
  }

  /** A message without handles to one node (`ts.peer` its sender), unless the node is destroyed before it. */
  #deliverToNode(ts: Timestamp, node: number, payload: unknown, charge: number): void {
    const ctx = this.#ctx;
    const owned = ctx.owned(node);
    if (owned === undefined || owned.destroyedBefore(ts)) {
      if (charge > 0) ctx.quota.discharge(ts.peer, charge);
      return;
    }
    this.#trace("message", owned.node.name, ts, NO_HANDLES, NO_HANDLES);
    ctx.deliver(new Message(owned.node, payload, NO_HANDLES, ts), charge);
  }

  #deliverDestroy(event: string, ts: Timestamp, nodes: readonly number[]): void {
    const ctx = this.#ctx;
    const owner = ts.peer;
    for (const id of nodes) {
      const name = nodeName(owner, id);
      const handle = owner === ctx.id ? ctx.owned(id)?.node.handle : ctx.handle(name);
      // Remembered either way: a handle to the node that arrives later in the order is dead.
      if (owner !== ctx.id) this.#tombstones.set(owner, id, ts, ctx.now());
      // A node this peer does not hold (any more): nothing to tell.
      if (!handle || (owner !== ctx.id && handle.state !== "live")) continue;
      if (owner !== ctx.id) handle.markDestroyed();
      this.#trace("destroyed", name, ts, NO_HANDLES, NO_HANDLES);
      ctx.deliver({ kind: "destroyed", event, handle, ts, reason: "destroyed" }, 0);
    }
  }

  #deliverRelease(event: string, ts: Timestamp, data: Extract<Incoming, { kind: "release" }>): void {
    const owned = this.#ctx.owned(data.node);
    if (!owned || owned.destroyedBefore(ts)) return; // no release notification after destruction
    if (!owned.release(data.holder, data.count)) return;
    this.#trace("released", owned.node.name, ts, NO_HANDLES, NO_HANDLES);
    this.#ctx.deliver({ kind: "released", event, node: owned.node, ts, reason: "released" }, 0);
  }

  #arrivesDead(ref: HandleRef, ts: Timestamp, dead: readonly HandleRef[]): boolean {
    if (dead.some((d) => d.owner === ref.owner && d.node === ref.node)) return true;
    if (ref.owner === this.#ctx.id) return this.#ctx.owned(ref.node)?.destroyedBefore(ts) ?? true;
    // Its owner is gone to this peer (its nodes got their crash notifications here): nothing it
    // owns can be held live until a new session with it (spec/ordering.md §11).
    if (this.#ctx.lost(ref.owner)) return true;
    const tomb = this.#tombstones.get(ref.owner, ref.node);
    return tomb !== undefined && compareTimestamps(tomb, ts) < 0;
  }

  #overQuota(from: string, event: number, reply: Reply): void {
    this.#ctx.overQuota(from, event);
    reply({ type: "reject", event, code: "E_QUOTA" });
  }

  #stage(from: string, seq: number, proposal: number, data: Incoming): void {
    const entry = this.#queue.insert(from, seq, proposal, false, data);
    if (data.kind === "message" && data.handles.length > 0) this.#unheld.count(data.handles, 1);
    this.#stagedAt.set(entry, this.#ctx.now());
    // This peer's own events are decided by itself, within its answer timeout (spec/guarantees.md §4.6).
    if (from !== this.#ctx.id) this.#stalls.staged(from, entry);
  }

  /**
   * An event number a sender uses twice is a protocol error (spec/errors.md §3.1): caught while
   * the first is queued, and for the last RECENT numbers already delivered per sender.
   */
  #assertNew(from: string, event: number): void {
    if (
      this.#queue.get(from, event) ||
      this.#unheld.has(from, event) ||
      recentHas(this.#recent.get(from), event)
    ) {
      throw new CapbusError("E_PROTOCOL", `event ${event} of ${from} seen twice`);
    }
  }

  #remember(from: string, event: number): void {
    let recent = this.#recent.get(from);
    if (!recent) {
      recent = { ring: [], at: 0, max: 0 };
      this.#recent.set(from, recent);
    }
    if (recentHas(recent, event)) return;
    if (event > recent.max) recent.max = event;
    // The ring holds them in delivery order: once full, the slot reused is the oldest's.
    if (recent.ring.length < RECENT) recent.ring.push(event);
    else {
      recent.ring[recent.at] = event;
      recent.at = (recent.at + 1) % RECENT;
    }
  }

  #uncharge(entry: QueueEntry<Incoming>): void {
    this.#dequeued(entry);
    if (entry.data.kind === "message" && entry.data.charge > 0)
      this.#ctx.quota.discharge(entry.sender, entry.data.charge);
  }

  #settled(entry: QueueEntry<Incoming>): void {
    this.#stagedAt.delete(entry);
    this.#stalls.settled(entry.sender, entry);
  }

  /** A queued message's carried handles leave the index of handles on the way (spec/ordering.md §9). */
  #dequeued(entry: QueueEntry<Incoming>): void {
    if (entry.data.kind === "message" && entry.data.handles.length > 0)
      this.#unheld.count(entry.data.handles, -1);
  }

  /** Does this peer neither hold `owner`'s `node` live nor have it on the way in its queue? */
  #unheldNode(owner: string, node: number): boolean {
    return this.#ctx.handle(nodeName(owner, node))?.state !== "live" && !this.#unheld.carried(owner, node);
  }

  /**
   * An unheld destroy: proposed at C + 1 without moving the clock (nor applying the frame's),
   * kept out of the queue, charged to its owner's quota (spec/ordering.md §9, "Unheld destroys").
   */
  #keepUnheld(from: string, frame: DestroyFrame, reply: Reply, size: number): void {
    const charge = Math.max(size, UNHELD_COST);
    if (!this.#ctx.quota.charge(from, charge)) return this.#overQuota(from, frame.event, reply);
    const proposal = this.#ctx.clock.next();
    this.#unheld.add({ owner: from, event: frame.event, nodes: frame.nodes, proposal, charge });
    reply({ type: "propose", event: frame.event, lamport: proposal });
  }

  /**
   * An unheld destroy committed while still unheld: nothing to deliver, only tombstones, so a
   * handle to a node ordered after it arrives dead. Its final is not applied to the clock; a
   * message carrying one of the nodes proposes above it instead (#carrying).
   */
  #commitUnheld(unheld: UnheldDestroy, final: number): void {
    if (final < unheld.proposal) {
      throw new CapbusError("E_PROTOCOL", `final ${final} below the proposal ${unheld.proposal}`);
    }
    const { owner, event } = unheld;
    this.#unheld.take(owner, event);
    this.#ctx.quota.discharge(owner, unheld.charge);
    const ts = { lamport: final, peer: owner, seq: event };
    for (const node of unheld.nodes) this.#tombstones.set(owner, node, ts, this.#ctx.now());
    this.#remember(owner, event);
  }

  /**
   * A message carrying `handles` is staged here (`queued`: it was queued). A tombstone of a carried
   * node raises the clock to its final, so the message's proposal, and its final, lie above it (an
   * unheld destroy's final was never applied). A queued message promotes every unheld destroy of a
   * carried node to a staged entry at its proposal: it then blocks delivery until its commit, which
   * orders this message against it here as everywhere (spec/ordering.md §9, spec/ordering.md §11).
   */
  #carrying(handles: readonly HandleRef[], queued: boolean): void {
    for (const ref of handles) {
      const tomb = this.#tombstones.get(ref.owner, ref.node);
      if (tomb) this.#ctx.clock.observe(tomb.lamport);
      if (!queued) continue;
      for (const unheld of this.#unheld.naming(ref.owner, ref.node)) {
        this.#unheld.take(unheld.owner, unheld.event);
        this.#ctx.quota.discharge(unheld.owner, unheld.charge);
        this.#stage(unheld.owner, unheld.event, unheld.proposal, { kind: "destroy", nodes: unheld.nodes });
      }
    }
  }

  #commitOnArrival(from: string, frame: { event: number; clock: number }, data: Incoming): number {
    const { clock } = this.#ctx;
    this.#assertNew(from, frame.event);
    clock.observe(frame.clock);
    const final = clock.tick();
    // Every entry queued here is below `final` (the clock is past all of them): with none queued,
    // it is deliverable at once, and need not go through the queue.
    if (this.#queue.size === 0) this.#deliver(from, frame.event, final, data);
    else {
      this.#queue.insert(from, frame.event, final, true, data);
      this.deliverReady();
    }
    return final;
  }

  /** An event of a fast batch, committed on arrival at the batch's final (delivered by the caller). */
  #commitAt(from: string, seq: number, final: number, node: number, payload: unknown, charge: number): void {
    // As #commitOnArrival: with nothing queued here it is deliverable at once, and is delivered
    // straight from the frame, with no queue entry made for it.
    if (this.#queue.size === 0) {
      this.#remember(from, seq);
      return this.#deliverToNode({ lamport: final, peer: from, seq }, node, payload, charge);
    }
    const data: Incoming = {
      kind: "message",
      nodes: [node],
      payload,
      handles: NO_REFS,
      dead: NO_REFS,
      charge,
      receivers: NO_PEERS,
    };
    this.#queue.insert(from, seq, final, true, data);
  }

  /** Count a reference per receiver for each live node; returns the nodes already destroyed. */
  #countTransfer(
    sender: string,
    nodes: readonly number[],
    receivers: readonly string[],
  ): Set<number> | undefined {
    // Made only when a node is destroyed: most stages carry no handle of this peer's.
    let dead: Set<number> | undefined;
    for (const id of nodes) {
      const owned = this.#ctx.owned(id);
      if (!owned) continue;
      if (owned.state !== "destroyed") owned.acquire(receivers, sender);
      else {
        dead ??= new Set();
        dead.add(id);
      }
    }
    return dead;
  }

  /** How many of `nodes` are destroyed (a loop: no closure per stage). */
  #countDestroyed(nodes: readonly number[]): number {
    let count = 0;
    for (const node of nodes) if (this.#destroyed(node)) count++;
    return count;
  }

  /** Is one of `nodes` in a destroy's pick window (#holding's test, without its retry closure)? */
  #anyPicking(nodes: readonly number[]): boolean {
    for (const id of nodes) if (this.#ctx.owned(id)?.state === "picking") return true;
    return false;
  }

  /** In a destroy's pick window, frames naming its nodes wait for the pick (spec/ordering.md §9 step 2). */
  #holding(from: string, event: number, nodes: readonly number[], retry: () => void, fast = false): boolean {
    // A fast frame is committed where it is processed: one behind a held frame of its sender
    // waits too, or it would be committed first and delivered ahead of an earlier event of the
    // held frame (a fast batch is held whole when one of its events names a picking node).
    const behind = fast && this.#held.size > 0 && this.#held.holds(from);
    if (!behind && !nodes.some((id) => this.#ctx.owned(id)?.state === "picking")) return false;
    this.#held.hold(from, event, retry);
    return true;
  }

  #destroyed(node: number): boolean {
    return this.#ctx.owned(node)?.state === "destroyed";
  }

  /**
   * The owner-side check: each node exists and the sender holds a handle to it. The first one
   * that fails is named in the reject, so the sender can tell which of its nodes was bad.
   */
  #refuse(from: string, nodes: readonly number[]): { code: CoreErrorCode; node: number } | undefined {
    for (const node of nodes) {
      const refused = this.#refuseNode(from, node);
      if (refused) return refused;
    }
    return undefined;
  }

  /** `#refuse` for one node (no list made per event of a fast batch). */
  #refuseNode(from: string, node: number): { code: CoreErrorCode; node: number } | undefined {
    const owned = this.#ctx.owned(node);
    if (!owned) return { code: "E_NO_NODE", node };
    if (!owned.allows(from)) return { code: "E_NO_HANDLE", node };
    return undefined;
  }

  /** A delivery record; built only when something records traces. */
  #trace(
    kind: "message" | "destroyed" | "released",
    node: string,
    ts: Timestamp,
    live: readonly Handle[],
    dead: readonly Handle[],
  ): void {
    if (!this.#ctx.tracing) return;
    this.#ctx.trace({
      peer: this.#ctx.id,
      op: "deliver",
      event: eventId(ts),
      kind,
      node,
      ts: [ts.lamport, ts.peer, ts.seq],
      handles: live.map((h) => h.name),
      dead: dead.map((h) => h.name),
    });
  }
}

/** The receivers of a batch's `i`th event (spec/wire.md §5.21): its group, or none listed. */
function receiversAt(frame: StagesFrame, i: number): readonly string[] {
  const at = frame.receivers?.[i];
  return at === undefined ? NO_PEERS : (frame.groups?.[at] ?? NO_PEERS);
}

/** An event's id, `<sender>:<seq>` (spec/trace.md §3). */
function eventId(ts: Timestamp): string {
  return `${ts.peer}:${ts.seq}`;
}

function answer(event: number, lamport: number, dead: ReadonlySet<number> | undefined): Answer {
  return dead === undefined || dead.size === 0
    ? { type: "propose", event, lamport }
    : { type: "dead", event, lamport, nodes: [...dead] };
}
