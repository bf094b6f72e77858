/**
 * Crashes mid-round: a sender killed after its `commit` (or `commits` batch, or `abort`) of a
 * multicast reached only some of the round's destinations, the window W1 of spec/guarantees.md §5
 * that destinations close by reconciling. How many got it is drawn from a seeded Random, so a
 * property run hits the window many times and replays.
 */
import { FrameCodec } from "@capbus/wire";
import type { NetEvent } from "./events.js";
import type { Random } from "./random.js";
import type { SimWorld } from "./world.js";

/** The frame a crash cuts: the round's commits, or its aborts. */
export type RoundPhase = "commit" | "abort";

/** One crash mid-round: who, which round, and how far its commits (aborts) got. */
export interface MidRoundCrash {
  readonly peer: string;
  readonly phase: RoundPhase;
  /** The round's event as the wire numbers it (the sender's seq): the trace's `<peer>:<event>`. */
  readonly event: number;
  /** Remote peers the round was staged at (its `stage` or `stages` frames). */
  readonly staged: readonly string[];
  /** Those whose commit (abort) left before the crash. */
  readonly reached: readonly string[];
  /** Virtual time of the crash. */
  readonly time: number;
}

interface Round {
  readonly staged: Set<string>;
  /** Set at the round's first commit (abort): how many get it, 1 to staged - 1. */
  cutAfter?: number;
  readonly reached: string[];
}

/**
 * Watches armed peers' frames on `world`'s network. An armed peer crashes (SimWorld.crash) at
 * the first multicast round staged at two or more remote peers whose commits (aborts, for
 * `abort`) it writes: after k of them left, k drawn from `random` between 1 and n - 1. Only
 * rounds staged after arming count (their stage frames are how it learns the destinations).
 */
export class MidRoundCrasher {
  /** The crashes so far, in order. */
  readonly crashes: MidRoundCrash[] = [];
  readonly #world: SimWorld;
  readonly #random: Random;
  readonly #codec = new FrameCodec();
  /** Armed peer → its phase and its rounds by event. */
  readonly #armed = new Map<string, { phase: RoundPhase; rounds: Map<number, Round> }>();
  readonly #unobserve: () => void;

  readonly #onCrash: ((crash: MidRoundCrash) => void) | undefined;

  /** `onCrash` is called at each crash, right after the sender died. */
  constructor(world: SimWorld, random: Random, onCrash?: (crash: MidRoundCrash) => void) {
    this.#world = world;
    this.#random = random;
    this.#onCrash = onCrash;
    this.#unobserve = world.network.observe((e) => this.#saw(e));
  }

  /** Arm `peer`: it crashes mid-way through its next multicast commit (or abort). */
  arm(peer: string, phase: RoundPhase): void {
    if (this.#world.network.isCrashed(peer)) return;
    this.#armed.set(peer, { phase, rounds: new Map() });
  }

  /** Whether `peer` is armed and has not crashed yet. */
  isArmed(peer: string): boolean {
    return this.#armed.has(peer);
  }

  /** Disarm `peer`: its next rounds complete (a workload that no longer wants it to crash). */
  disarm(peer: string): void {
    this.#armed.delete(peer);
  }

  /** Stop watching the network. */
  dispose(): void {
    this.#armed.clear();
    this.#unobserve();
  }

  #saw(e: NetEvent): void {
    if (e.kind !== "send") return;
    const armed = this.#armed.get(e.from);
    if (armed === undefined) return;
    const decoded = this.#codec.decodeFrame(e.bytes);
    if (!decoded.ok) return;
    const f = decoded.frame;
    const round = (event: number) => {
      const known = armed.rounds.get(event);
      if (known !== undefined) return known;
      const r: Round = { staged: new Set(), reached: [] };
      armed.rounds.set(event, r);
      return r;
    };
    if (f.type === "stage") round(f.event).staged.add(e.to);
    else if (f.type === "stages") for (const ev of f.events) round(ev).staged.add(e.to);
    else if (armed.phase === "commit" && (f.type === "commit" || f.type === "commits")) {
      this.#cut(e, armed.phase, f.type === "commit" ? [f.event] : f.events, armed.rounds);
    } else if (armed.phase === "abort" && f.type === "abort") {
      this.#cut(e, armed.phase, [f.event], armed.rounds);
    }
  }

  /** A commit (abort) of `events` is leaving for `e.to`: let it go, or crash the sender now. */
  #cut(
    e: NetEvent & { kind: "send" },
    phase: RoundPhase,
    events: readonly number[],
    rounds: Map<number, Round>,
  ) {
    const cut = events.filter((event) => (rounds.get(event)?.staged.size ?? 0) >= 2);
    for (const event of cut) {
      const r = rounds.get(event)!;
      r.cutAfter ??= this.#random.int(1, r.staged.size - 1);
    }
    const hit = cut.find((event) => {
      const r = rounds.get(event)!;
      return r.reached.length >= r.cutAfter!;
    });
    if (hit === undefined) {
      for (const event of cut) rounds.get(event)!.reached.push(e.to);
      return;
    }
    const r = rounds.get(hit)!;
    this.#armed.delete(e.from);
    const crash = {
      peer: e.from,
      phase,
      event: hit,
      staged: [...r.staged],
      reached: [...r.reached],
      time: e.time,
    };
    this.crashes.push(crash);
    this.#world.crash(e.from); // this frame, and all after it, never leave
    this.#onCrash?.(crash);
  }
}
