/**
 * A seeded simulated network of named endpoints joined by links. Per direction a link is FIFO
 * with random latency; different links reorder freely against each other. Fault hooks: cut,
 * per-direction latency changes, and pausing an endpoint's inbound delivery.
 */
import type { Link } from "@capbus/core";
import type { NetEvent, NetObserver } from "./events.js";
import { type LatencyProfile, type LinkLatency, resolveLatency, splitLatency } from "./latency.js";
import { Direction, type NetContext, SimLinkEnd } from "./link-end.js";
import { Random } from "./random.js";
import { SimScheduler } from "./scheduler.js";
import {
  addCounters,
  type LinkStats,
  type NetworkStats,
  type TrafficCounters,
  zeroCounters,
} from "./stats.js";

/** Options of a SimNetwork. */
export interface SimNetworkOptions {
  /** 32-bit unsigned seed: the same seed and the same calls give the same run. */
  readonly seed: number;
  /** Shared virtual clock; default a new SimScheduler seeded from `seed`. */
  readonly scheduler?: SimScheduler;
  /** Default latency for new links. Default "normal" (1-20 ms). */
  readonly latency?: LinkLatency;
}

/** Options of one simulated link. */
export interface LinkOptions {
  /** This link's latency, for both directions or per direction (aToB / bToA). */
  readonly latency?: LinkLatency;
}

/** The close code of a link cut by the network (`cut`), as the peers see it. */
export const LINK_CUT = "E_LINK_CUT";

/** A simulated link end: a core Link that also says which link and endpoints it joins. */
export interface SimLink extends Link {
  /** Link id, unique within the network (creation order). */
  readonly id: number;
  /** This end's endpoint name. */
  readonly local: string;
  /** The other end's endpoint name. */
  readonly remote: string;
}

interface SimLinkRecord {
  readonly id: number;
  readonly a: SimLinkEnd;
  readonly b: SimLinkEnd;
}

/**
 * A deterministic simulated network: links between named endpoints with seeded latency, cuts, pauses and
 * traffic counters, all on one virtual clock.
 */
export class SimNetwork {
  readonly scheduler: SimScheduler;
  private readonly random: Random;
  private readonly defaultLatency: readonly [LatencyProfile, LatencyProfile];
  private readonly links: SimLinkRecord[] = [];
  /** Links whose ends have not both finished, for cut / setLatency / cutAll. */
  private readonly live = new Set<SimLinkRecord>();
  private readonly linksPerPair = new Map<string, number>();
  private readonly paused = new Set<string>();
  private readonly crashed = new Set<string>();
  private readonly endsByEndpoint = new Map<string, Set<SimLinkEnd>>();
  private readonly observers: NetObserver[] = [];
  private readonly ctx: NetContext;

  constructor(options: SimNetworkOptions) {
    this.random = new Random(options.seed).fork("network");
    this.scheduler = options.scheduler ?? new SimScheduler({ seed: options.seed });
    const normal = resolveLatency("normal");
    this.defaultLatency = splitLatency(options.latency, [normal, normal]);
    const net = this;
    const emit = (e: NetEvent): void => {
      for (const o of net.observers) o(e);
    };
    this.ctx = {
      scheduler: this.scheduler,
      isPaused: (endpoint) => net.paused.size > 0 && net.paused.has(endpoint),
      get emit() {
        return net.observers.length === 0 ? undefined : emit;
      },
      endFinished: (end) => net.endFinished(end),
    };
  }

  /** Virtual now, in ms. */
  now(): number {
    return this.scheduler.now();
  }

  /**
   * Creates a link between endpoints `a` and `b` and returns [a's end, b's end]. Several links may
   * join the same pair (e.g. a reconnect after a cut).
   */
  link(a: string, b: string, options: LinkOptions = {}): [SimLink, SimLink] {
    const dead = [a, b].find((e) => this.crashed.has(e));
    if (dead !== undefined) throw new Error(`cannot link ${a} and ${b}: ${dead} crashed`);
    const id = this.links.length;
    const endA = new SimLinkEnd(this.ctx, id, a, b);
    const endB = new SimLinkEnd(this.ctx, id, b, a);
    endA.peer = endB;
    endB.peer = endA;
    const [aToB, bToA] = splitLatency(options.latency, this.defaultLatency);
    // Latency streams are named by pair and reconnect count, so one link's delays do not depend
    // on traffic elsewhere (keeps shrunk counterexamples close to the original).
    const n = this.linksPerPair.get(pairKey(a, b)) ?? 0;
    this.linksPerPair.set(pairKey(a, b), n + 1);
    endA.out = new Direction(this.ctx, endA, endB, aToB, this.random.fork(`${a}->${b}#${n}`));
    endB.out = new Direction(this.ctx, endB, endA, bToA, this.random.fork(`${b}->${a}#${n}`));
    const record: SimLinkRecord = { id, a: endA, b: endB };
    this.links.push(record);
    this.live.add(record);
    this.endsOf(a).add(endA);
    this.endsOf(b).add(endB);
    return [endA, endB];
  }

  /**
   * Breaks every live link between `a` and `b`: frames in flight (and not yet handed over) are lost,
   * and each end not already closing gets closed({code: "E_LINK_CUT", byRemote: true}) as a task.
   * Returns how many links were cut.
   */
  cut(a: string, b: string, reason = `link ${a}<->${b} cut by the simulated network`): number {
    const key = pairKey(a, b);
    let cut = 0;
    for (const rec of [...this.live]) {
      if (pairKey(rec.a.local, rec.b.local) !== key) continue;
      this.cutRecord(rec, reason);
      cut++;
    }
    return cut;
  }

  /** Cuts every live link of `endpoint` (a crash as seen by its peers). Returns how many. */
  cutAll(endpoint: string, reason = `${endpoint} disconnected from the simulated network`): number {
    let cut = 0;
    for (const rec of [...this.live]) {
      if (rec.a.local !== endpoint && rec.b.local !== endpoint) continue;
      this.cutRecord(rec, reason);
      cut++;
    }
    return cut;
  }

  /**
   * Kills `endpoint` as a process dies: frames it already sent are in flight (in the kernel) and
   * still arrive, each remote end then gets closed({code: "E_LINK_CUT", byRemote: true}) behind
   * them, and from now on nothing it sends leaves and nothing reaches it (frames in flight to it
   * are lost). Unlike `cutAll`, which breaks the links and loses what is in flight both ways. Safe
   * to call from an observer of the endpoint's own `send`: that frame is lost. Returns how many
   * links it had.
   */
  crash(endpoint: string, reason = `${endpoint} crashed`): number {
    this.crashed.add(endpoint);
    let links = 0;
    for (const rec of [...this.live]) {
      const end = rec.a.local === endpoint ? rec.a : rec.b.local === endpoint ? rec.b : undefined;
      if (end === undefined) continue;
      end.crash({ code: LINK_CUT, reason, byRemote: true });
      links++;
    }
    return links;
  }

  /** True once `crash(endpoint)` was called. */
  isCrashed(endpoint: string): boolean {
    return this.crashed.has(endpoint);
  }

  /**
   * Changes the latency of live links between `a` and `b` for frames sent from now on; a per-direction
   * value is read in this call's argument order (aToB is a→b). FIFO still holds across the change.
   */
  setLatency(a: string, b: string, latency: LinkLatency): void {
    const key = pairKey(a, b);
    for (const rec of this.live) {
      if (pairKey(rec.a.local, rec.b.local) !== key) continue;
      const [fwd, back] = rec.a.local === a ? [rec.a.out, rec.b.out] : [rec.b.out, rec.a.out];
      const [p, q] = splitLatency(latency, [fwd.profile, back.profile]);
      fwd.profile = p;
      back.profile = q;
    }
  }

  /**
   * Holds every frame and close addressed to `endpoint` until `resume` (like SIGSTOP). It only stops
   * inbound delivery: the endpoint's own timers and sends are the caller's business.
   */
  pause(endpoint: string): void {
    this.paused.add(endpoint);
  }

  /** Releases held items, in arrival order per link, as tasks at the current time. */
  resume(endpoint: string): void {
    if (!this.paused.delete(endpoint)) return;
    for (const end of this.endsOf(endpoint)) end.ensurePump();
  }

  /** True while `endpoint` is paused (its frames held, not lost). */
  isPaused(endpoint: string): boolean {
    return this.paused.has(endpoint);
  }

  /** Watches every send, delivery, loss and close. Returns an unsubscribe function. */
  observe(observer: NetObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** Traffic so far: per link, per endpoint and in total. */
  stats(): NetworkStats {
    const endpoints = new Map<string, TrafficCounters>();
    const totals = zeroCounters();
    const links: LinkStats[] = [];
    for (const rec of this.links) {
      for (const end of [rec.a, rec.b]) {
        const c = endpoints.get(end.local) ?? zeroCounters();
        endpoints.set(end.local, c);
        addCounters(c, end.counters);
        addCounters(totals, end.counters);
      }
      links.push({
        id: rec.id,
        a: rec.a.local,
        b: rec.b.local,
        open: this.live.has(rec),
        aEnd: { ...rec.a.counters },
        bEnd: { ...rec.b.counters },
      });
    }
    return { links, endpoints, totals };
  }

  /** Counters for one endpoint (zeros if it never had a link). */
  endpointStats(endpoint: string): Readonly<TrafficCounters> {
    const c = zeroCounters();
    for (const rec of this.links) {
      if (rec.a.local === endpoint) addCounters(c, rec.a.counters);
      if (rec.b.local === endpoint) addCounters(c, rec.b.counters);
    }
    return c;
  }

  private cutRecord(rec: SimLinkRecord, reason: string): void {
    this.live.delete(rec);
    rec.a.out.dropAll();
    rec.b.out.dropAll();
    const info = { code: LINK_CUT, reason, byRemote: true } as const;
    rec.a.cut(info);
    rec.b.cut(info);
  }

  private endFinished(end: SimLinkEnd): void {
    this.endsByEndpoint.get(end.local)?.delete(end);
    const rec = this.links[end.id];
    if (rec?.a.finished && rec.b.finished) this.live.delete(rec);
  }

  private endsOf(endpoint: string): Set<SimLinkEnd> {
    const s = this.endsByEndpoint.get(endpoint) ?? new Set<SimLinkEnd>();
    this.endsByEndpoint.set(endpoint, s);
    return s;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}
