/**
 * One simulated link: two ends (each a core `Link`) joined by two one-way FIFO directions.
 * Each direction keeps its in-flight frames in a queue with non-decreasing arrival times and has
 * at most one scheduler task (for its head), so a cut can drop everything in flight at once.
 */
import type { Link, LinkClosedInfo, LinkHandler } from "@capbus/core";
import type { NetEvent } from "./events.js";
import { Fifo } from "./fifo.js";
import type { Task } from "./heap.js";
import { type LatencyProfile, sampleLatency } from "./latency.js";
import type { Random } from "./random.js";
import type { SimScheduler } from "./scheduler.js";
import { type TrafficCounters, zeroCounters } from "./stats.js";

/** What link ends need from their network. */
export interface NetContext {
  readonly scheduler: SimScheduler;
  isPaused(endpoint: string): boolean;
  /** Undefined when nobody observes, so the hot path skips building events. */
  readonly emit: ((event: NetEvent) => void) | undefined;
  endFinished(end: SimLinkEnd): void;
}

/** A frame, or the remote end's close travelling behind its frames. */
type Item = Uint8Array | LinkClosedInfo;

interface InFlight {
  readonly at: number;
  readonly item: Item;
}

export class Direction {
  private readonly queue = new Fifo<InFlight>();
  private lastAt = Number.NEGATIVE_INFINITY;
  private headTask: Task | undefined;
  private readonly onHead = (): void => this.deliverHead();

  constructor(
    private readonly net: NetContext,
    readonly from: SimLinkEnd,
    readonly to: SimLinkEnd,
    public profile: LatencyProfile,
    private readonly random: Random,
  ) {}

  /** Puts an item in flight. It arrives after its sampled latency but never before an earlier item. */
  enqueue(item: Item): void {
    const s = this.net.scheduler;
    const at = Math.max(s.now() + sampleLatency(this.profile, this.random), this.lastAt);
    this.lastAt = at;
    this.queue.push({ at, item });
    if (this.headTask === undefined) this.headTask = s.at(at, this.onHead);
  }

  /** Drops everything in flight (a cut). */
  dropAll(): void {
    if (this.headTask !== undefined) this.net.scheduler.cancel(this.headTask);
    this.headTask = undefined;
    for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
      if (e.item instanceof Uint8Array) this.from.lost(e.item, "cut");
    }
  }

  private deliverHead(): void {
    const entry = this.queue.shift()!;
    const next = this.queue.peek();
    // Schedule the next head first, so a throwing handler does not stall the direction.
    this.headTask = next === undefined ? undefined : this.net.scheduler.at(next.at, this.onHead);
    this.to.arrive(entry.item);
  }
}

export class SimLinkEnd implements Link {
  readonly counters: TrafficCounters = zeroCounters();
  /** Set right after construction, once both ends exist. */
  out!: Direction;
  peer!: SimLinkEnd;
  private handler: LinkHandler | undefined;
  /** Arrived but not yet handed over (no handler yet, endpoint paused, or behind a pending pump). */
  private readonly inbox = new Fifo<Item>();
  private pumpTask: Task | undefined;
  private readonly onPump = (): void => this.pump();
  /** No more sends; arriving frames are dropped (close called, or `closed` is on its way). */
  private closing = false;
  /** The handler has had `closed`. */
  finished = false;

  constructor(
    private readonly net: NetContext,
    /** Link id, unique within the network. */
    readonly id: number,
    /** This end's endpoint name. */
    readonly local: string,
    /** The other end's endpoint name. */
    readonly remote: string,
  ) {}

  send(frame: Uint8Array): void {
    if (this.closing) return;
    const copy = frame.slice(); // the sender may reuse its buffer
    this.counters.framesSent++;
    this.counters.bytesSent += copy.length;
    this.net.emit?.({
      kind: "send",
      time: this.net.scheduler.now(),
      link: this.id,
      from: this.local,
      to: this.remote,
      bytes: copy,
    });
    // An observer may have crashed this end's endpoint on seeing the frame (SimNetwork.crash):
    // then it never left.
    if (this.closing) {
      this.lost(copy, "closed");
      return;
    }
    this.out.enqueue(copy);
  }

  close(code: string, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.discardFrames("closed"); // unread data dies with a local close
    this.out.enqueue({ code, reason, byRemote: true });
    this.queueForHandler({ code, reason, byRemote: false });
  }

  attach(handler: LinkHandler): void {
    if (this.handler !== undefined)
      throw new Error(`link ${this.id}: attach called twice on ${this.local}'s end`);
    this.handler = handler;
    this.ensurePump(); // buffered items go out as a task, not inside attach
  }

  // --- network side ---

  /** An item reached this end. */
  arrive(item: Item): void {
    if (this.closing) {
      if (item instanceof Uint8Array) this.peer.lost(item, "closed");
      return;
    }
    if (!(item instanceof Uint8Array)) this.closing = true;
    if (
      this.handler !== undefined &&
      this.pumpTask === undefined &&
      this.inbox.length === 0 &&
      !this.net.isPaused(this.local)
    ) {
      this.deliver(item);
    } else {
      this.inbox.push(item);
      this.ensurePump();
    }
  }

  /** The transport broke the link: undelivered frames are gone, and `closed` follows as a task. */
  cut(info: LinkClosedInfo): void {
    this.discardFrames("cut");
    if (this.closing) return; // a `closed` is already queued (or delivered)
    this.closing = true;
    this.queueForHandler(info);
  }

  /**
   * This end's process died (SimNetwork.crash): what it sent is still in flight and arrives, the
   * remote's `closed` follows behind it, and nothing more leaves or arrives here. The local handler
   * is closed too, so the dead peer object winds down; nothing it does can leave.
   */
  crash(info: LinkClosedInfo): void {
    if (this.closing) return; // closing already: the remote's `closed` is on its way
    this.closing = true;
    this.discardFrames("closed");
    this.out.enqueue(info);
    this.queueForHandler(info);
  }

  /** Delivery may resume (endpoint resumed). */
  ensurePump(): void {
    if (
      this.pumpTask === undefined &&
      this.handler !== undefined &&
      this.inbox.length > 0 &&
      !this.net.isPaused(this.local)
    ) {
      this.pumpTask = this.net.scheduler.at(this.net.scheduler.now(), this.onPump);
    }
  }

  /** Counts (and reports) a frame this end sent that will never be delivered. */
  lost(bytes: Uint8Array, why: "cut" | "closed"): void {
    this.counters.framesLost++;
    this.net.emit?.({
      kind: "lost",
      time: this.net.scheduler.now(),
      link: this.id,
      from: this.local,
      to: this.remote,
      bytes,
      why,
    });
  }

  private queueForHandler(item: Item): void {
    this.inbox.push(item);
    this.ensurePump();
  }

  private discardFrames(why: "cut" | "closed"): void {
    if (this.inbox.length === 0) return;
    this.inbox.retain((item) => {
      if (!(item instanceof Uint8Array)) return true;
      this.peer.lost(item, why);
      return false;
    });
  }

  /** Hands over one buffered item per task, so each gets its own microtask drain under `run`. */
  private pump(): void {
    this.pumpTask = undefined;
    if (this.handler === undefined || this.net.isPaused(this.local)) return;
    const item = this.inbox.shift();
    if (item === undefined) return;
    this.ensurePump();
    this.deliver(item);
  }

  private deliver(item: Item): void {
    const handler = this.handler!;
    const emit = this.net.emit;
    if (item instanceof Uint8Array) {
      this.counters.framesReceived++;
      this.counters.bytesReceived += item.length;
      emit?.({
        kind: "deliver",
        time: this.net.scheduler.now(),
        link: this.id,
        from: this.remote,
        to: this.local,
        bytes: item,
      });
      handler.frame(item);
      return;
    }
    this.finished = true;
    this.inbox.clear(); // nothing may follow `closed`
    if (this.pumpTask !== undefined) this.net.scheduler.cancel(this.pumpTask);
    this.pumpTask = undefined;
    this.net.endFinished(this);
    emit?.({
      kind: "closed",
      time: this.net.scheduler.now(),
      link: this.id,
      endpoint: this.local,
      peer: this.remote,
      info: item,
    });
    handler.closed(item);
  }
}
