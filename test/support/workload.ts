/**
 * Random workloads on the simulator: unicasts, multicasts, handles passed to third peers, causal
 * chains where a delivery makes its receiver send on, destroys, releases, optionally peers cut off
 * the network for good mid-run or senders crashed mid-round, and a close of every peer at the end. Everything a run does
 * follows from its parameters, so a failing run replays.
 */
import { CapbusError, type Handle, type Node, type Peer, type SendResult } from "@capbus/core";
import { type MidRoundCrash, MidRoundCrasher, Random, type RoundPhase, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

export interface WorkloadParams {
  readonly seed: number;
  readonly peers: number;
  readonly operations: number;
  /**
   * At most this many peers are cut off the network for good, each by an operation at a random
   * time (spec/guarantees.md §4.2: the survivors synthesize notifications for it, and it for
   * them). At least two peers always stay connected. @default 0 (then a run draws exactly the
   * random numbers it drew before losses existed, so seeded runs elsewhere keep their shape)
   */
  readonly losses?: number;
  /**
   * Bursty: each operation does 1 to `burst` actions of one peer in one event-loop turn, so its
   * sends share batches (spec/ordering.md §14). @default undefined: one action per turn
   */
  readonly burst?: number;
  /** Some sends carry an AbortSignal aborted a few ms later (B8). @default false */
  readonly aborts?: boolean;
  /**
   * At most this many senders crash mid-round (issue 22): an operation arms a peer and has it
   * multicast to two or more other peers; it dies after its commit (`crashMidCommit`) or abort
   * (`crashMidAbort`, the multicast's signal aborts it) reached only some of them (MidRoundCrasher).
   * Crashed peers count among the lost, and two peers always stay connected.
   * @default 0 (then a run draws exactly the random numbers it drew before crashes existed)
   */
  readonly crashes?: number;
}

export interface WorkloadCounts {
  unicast: number;
  multicast: number;
  /** Messages carrying handles. */
  withHandles: number;
  /** Messages carrying a handle to a node neither the sender nor any receiver owns. */
  thirdParty: number;
  /** Sends made by a peer in reaction to a delivery. */
  reaction: number;
  destroy: number;
  release: number;
  /** A transfer of a node in flight while its destroy was undecided (either started first). */
  racing: number;
  /** Handles that arrived already destroyed. */
  deadOnArrival: number;
  /** Peers cut off the network for good. */
  loss: number;
  /** Notifications delivered for a lost peer (event ids `crash:…` or `unreachable:…`). */
  synthesized: number;
  /** Turns in which one peer sent two or more messages (bursty workloads). */
  burst: number;
  /** Sends whose signal aborted them before their decision (E_ABORTED). */
  aborted: number;
  /** Senders killed after their commit of a multicast reached only some destinations. */
  crashMidCommit: number;
  /** Senders killed after their abort of a multicast reached only some destinations. */
  crashMidAbort: number;
}

export interface WorkloadRun {
  readonly traces: MemoryTraceSink;
  readonly counts: WorkloadCounts;
  readonly results: Settled[];
  /** Sends (and destroys) refused before their round, in the order refused. */
  readonly refused: Refusal[];
  /** Each peer's deliveries as [lamport, sender, seq, event id], in delivery order. */
  readonly orders: Map<string, Delivered[]>;
  /** The peers cut off the network (`losses`) or crashed (`crashes`), in that order. */
  readonly lost: readonly string[];
  /** The crashes mid-round (`crashes`), in order. */
  readonly crashes: readonly MidRoundCrash[];
}

/** A delivery's final timestamp and its event id. */
export type Delivered = readonly [lamport: number, sender: string, seq: number, event: string];

/** A send's result, and the peers lost by the time it came. */
export interface Settled {
  readonly result: SendResult;
  readonly lost: readonly string[];
}

/** An operation refused with a CapbusError `code`. */
export interface Refusal {
  readonly code: string;
  /** Its maker, and the owners of the handles it named. */
  readonly peers: readonly string[];
  /** The peers lost by the time it was refused. */
  readonly lost: readonly string[];
}

/** Is the delivered event a notification a peer synthesized for a lost peer (spec/trace.md W11)? */
export function isSynthesized(event: string): boolean {
  return event.startsWith("crash:") || event.startsWith("unreachable:");
}

/** A causal chain: how many more times a receiver sends on. */
interface Chain {
  readonly hops: number;
}

const LATENCIES = ["fast", "normal", "slow", { min: 0, max: 120 }] as const;

export async function runWorkload(params: WorkloadParams): Promise<WorkloadRun> {
  const random = new Random(params.seed);
  const traces = new MemoryTraceSink();
  const world = new SimWorld({ seed: params.seed, traceFor: () => traces });
  const ids = Array.from({ length: params.peers }, (_, i) => `p${i}`);
  // Bursts of hundreds of rounds over 50-300 ms links can keep an event staged for longer than
  // the default 10 s stage timeout (the causality rule serialises each sender's decisions): this
  // suite checks ordering, so it gives stuck senders an hour (test/crash.scenarios covers them).
  const peers = ids.map((id) => world.addPeer(id, { stageTimeoutMs: 3_600_000 }));
  // Every link gets its own speed per direction, so paths race each other.
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      world.link(ids[i] as string, ids[j] as string, {
        aToB: random.pick(LATENCIES),
        bToA: random.pick(LATENCIES),
      });
    }
  }
  const nodes = peers.flatMap((peer) => Array.from({ length: random.int(1, 3) }, () => peer.createNode()));
  // held[p]: the live handles peer p may use (its own nodes' and those it was given).
  const held: Map<string, Handle>[] = peers.map(() => new Map());
  for (const [p, peer] of peers.entries()) {
    for (const node of nodes) {
      if (node.owner === peer.id) held[p]?.set(node.name, node.handle);
      else if (random.chance(0.6)) held[p]?.set(node.name, world.give(node, peer.id));
    }
  }

  const counts: WorkloadCounts = {
    unicast: 0,
    multicast: 0,
    withHandles: 0,
    thirdParty: 0,
    reaction: 0,
    destroy: 0,
    release: 0,
    racing: 0,
    deadOnArrival: 0,
    loss: 0,
    synthesized: 0,
    burst: 0,
    aborted: 0,
    crashMidCommit: 0,
    crashMidAbort: 0,
  };
  const results: Settled[] = [];
  const refused: Refusal[] = [];
  const lost: string[] = [];
  const work: Promise<void>[] = [];
  const crasher = new MidRoundCrasher(world, random.fork("crash"), (crash) => {
    lost.push(crash.peer);
    counts[crash.phase === "commit" ? "crashMidCommit" : "crashMidAbort"]++;
  });
  const inFlight = new Map<string, number>(); // node name → undecided transfers carrying it
  const destroying = new Set<string>();

  const live = (p: number): Handle[] => [...(held[p]?.values() ?? [])].filter((h) => h.state === "live");
  const refuse = (peers: readonly string[]) => (error: unknown) => {
    if (!(error instanceof CapbusError)) throw error;
    refused.push({ code: error.code, peers, lost: [...lost] });
  };

  const send = (from: number, chain: Chain, reaction: boolean): void => {
    const peer = peers[from] as Peer;
    const usable = live(from);
    if (usable.length === 0) return;
    const count = usable.length === 1 || random.chance(0.5) ? 1 : random.int(2, Math.min(5, usable.length));
    const targets = new Map<string, Handle>();
    while (targets.size < count) {
      const h = random.pick(usable);
      targets.set(h.name, h);
    }
    const carry = random.chance(0.3) ? [random.pick(usable)] : [];
    if (reaction) counts.reaction++;
    if (targets.size === 1) counts.unicast++;
    else counts.multicast++;
    if (carry.length > 0) counts.withHandles++;
    const owners = new Set([peer.id, ...[...targets.values()].map((h) => h.owner)]);
    const named = [...new Set([...owners, ...carry.map((h) => h.owner)])];
    for (const h of carry) {
      if (!owners.has(h.owner)) counts.thirdParty++;
      if (destroying.has(h.name)) counts.racing++;
      inFlight.set(h.name, (inFlight.get(h.name) ?? 0) + 1);
    }
    const done = () => {
      for (const h of carry) inFlight.set(h.name, (inFlight.get(h.name) ?? 1) - 1);
    };
    let signal: AbortSignal | undefined;
    if (params.aborts && random.chance(0.15)) {
      const controller = new AbortController();
      signal = controller.signal;
      world.scheduler.setTimer(random.int(0, 40), () => controller.abort());
    }
    work.push(
      peer.send([...targets.values()], chain, { handles: carry, ...(signal ? { signal } : {}) }).then(
        (result) => {
          done();
          results.push({ result, lost: [...lost] });
        },
        (error: unknown) => {
          done();
          if (signal?.aborted && error instanceof CapbusError && error.code === "E_ABORTED") counts.aborted++;
          else refuse(named)(error);
        },
      ),
    );
  };

  const destroy = (p: number): void => {
    const peer = peers[p] as Peer;
    const own = nodes.filter((n): n is Node => n.owner === peer.id && !destroying.has(n.name));
    if (own.length === 0) return;
    const node = random.pick(own);
    counts.destroy++;
    destroying.add(node.name);
    if ((inFlight.get(node.name) ?? 0) > 0) counts.racing++;
    work.push(peer.destroy(node).then(() => undefined, refuse([peer.id])));
  };

  const release = (p: number): void => {
    const others = live(p).filter((h) => h.owner !== peers[p]?.id);
    if (others.length === 0) return;
    const handle = random.pick(others);
    counts.release++;
    handle.release();
    if (handle.state !== "live") held[p]?.delete(handle.name);
  };

  // Cut a peer off the network for good: its sessions end at once at both ends (sim links have
  // graceMs 0), so each side treats the other as crashed. Two peers always stay connected.
  const maxLosses = Math.min(params.losses ?? 0, peers.length - 2);
  const lose = (p: number): void => {
    const id = ids[p] as string;
    if (counts.loss >= maxLosses || lost.includes(id) || lost.length + pendingCrashes() >= peers.length - 2)
      return;
    lost.push(id);
    counts.loss++;
    world.network.cutAll(id);
  };

  // Arm a peer to crash mid-round and have it multicast to two or more other peers now, so the
  // round it dies in is this one (or, when its rounds are all decided first, a later one). Two
  // peers always stay connected: the armed count with the lost.
  const maxCrashes = Math.min(params.crashes ?? 0, peers.length - 2);
  let armed = 0;
  const pendingCrashes = () => armed - counts.crashMidCommit - counts.crashMidAbort;
  const crashMid = (p: number, phase: RoundPhase): void => {
    const id = ids[p] as string;
    if (armed >= maxCrashes || lost.includes(id) || crasher.isArmed(id)) return;
    if (lost.length + pendingCrashes() >= peers.length - 2) return;
    const others = new Map<string, Handle>(); // one handle per other owner
    for (const h of live(p)) if (h.owner !== id && !others.has(h.owner)) others.set(h.owner, h);
    if (others.size < 2) return;
    armed++;
    crasher.arm(id, phase);
    const targets = [...others.values()].slice(0, random.int(2, Math.min(4, others.size)));
    const controller = new AbortController();
    // An abort after the stage frames left and before the proposals are all back sends aborts.
    if (phase === "abort") world.scheduler.setTimer(random.int(0, 8), () => controller.abort());
    counts.multicast++;
    work.push(
      (peers[p] as Peer).send(targets, { hops: 0 }, { signal: controller.signal }).then(
        (result) => {
          results.push({ result, lost: [...lost] });
        },
        (error: unknown) => {
          if (controller.signal.aborted && error instanceof CapbusError && error.code === "E_ABORTED")
            counts.aborted++;
          else refuse([id, ...targets.map((h) => h.owner)])(error);
        },
      ),
    );
  };

  for (const [index, peer] of peers.entries()) {
    void (async () => {
      for await (const event of peer) {
        if (event.kind === "destroyed") held[index]?.delete(event.handle.name);
        if (event.kind !== "message") continue;
        for (const h of event.handles) held[index]?.set(h.name, h);
        const chain = event.payload as Chain;
        if (chain.hops > 0) send(index, { hops: chain.hops - 1 }, true);
      }
    })();
  }

  // Operations start at random virtual times, so concurrent ones interleave.
  for (let op = 0; op < params.operations; op++) {
    const p = random.int(0, peers.length - 1);
    const roll = random.next();
    const hops = random.chance(0.3) ? random.int(1, 3) : 0;
    // Losses and crashes take their share from sends only when enabled, so runs without them
    // are unchanged.
    const lossShare = maxLosses > 0 ? 0.01 : 0;
    const crashShare = maxCrashes > 0 ? 0.02 : 0;
    const losing = 0.1 + lossShare;
    const pick = (roll: number, hops: number) =>
      roll < 0.05
        ? () => destroy(p)
        : roll < 0.1
          ? () => release(p)
          : roll < losing
            ? () => lose(p)
            : roll < losing + crashShare
              ? () => crashMid(p, roll < losing + crashShare / 2 ? "commit" : "abort")
              : () => send(p, { hops }, false);
    let act = pick(roll, hops);
    if (params.burst !== undefined) {
      // Several actions of one peer in one turn: its sends share batches, with destroys,
      // releases and losses between them.
      const acts = [act];
      for (let k = random.int(1, params.burst); k > 1; k--) {
        acts.push(pick(random.next(), random.chance(0.3) ? random.int(1, 3) : 0));
      }
      act = () => {
        const sent = counts.unicast + counts.multicast;
        for (const a of acts) a();
        if (counts.unicast + counts.multicast - sent >= 2) counts.burst++;
      };
    }
    world.scheduler.setTimer(random.int(0, 500), act);
  }

  await world.run();
  await Promise.all(work);
  crasher.dispose();
  await world.close();
  const orders = new Map<string, Delivered[]>();
  for (const [peer, records] of traces.byPeer) {
    const order: Delivered[] = [];
    for (const r of records) {
      if (r.op !== "deliver") continue;
      order.push([...r.ts, r.event]);
      counts.deadOnArrival += r.dead.length;
      if (isSynthesized(r.event)) counts.synthesized++;
    }
    orders.set(peer, order);
  }
  return { traces, counts, results, refused, orders, lost, crashes: crasher.crashes };
}
