/**
 * Random ordered-messaging workloads on the simulator: unicasts, multicasts, messages carrying
 * handles, and causal chains where a delivery makes its receiver send on. Everything a run does
 * follows from its parameters, so a failing run replays from them.
 */
import type { Handle, Peer, SendResult } from "@capbus/core";
import { Random, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

export interface WorkloadParams {
  readonly seed: number;
  readonly peers: number;
  readonly operations: number;
}

export interface WorkloadCounts {
  unicast: number;
  multicast: number;
  withHandles: number;
  /** Sends made by a peer in reaction to a delivery. */
  reaction: number;
}

export interface WorkloadRun {
  readonly traces: MemoryTraceSink;
  readonly counts: WorkloadCounts;
  readonly results: SendResult[];
  /** Deliveries the sends promised (one per destination node), and those made. */
  readonly expectedDeliveries: number;
  readonly deliveries: number;
  /** Each peer's deliveries as [lamport, sender, seq], in delivery order. */
  readonly orders: Map<string, Array<readonly [number, string, number]>>;
}

/** A causal chain: each hop is a list of node indexes the receiver of the previous hop sends to. */
interface Chain {
  readonly hops: readonly (readonly number[])[];
}

const LATENCIES = ["fast", "normal", "slow", { min: 0, max: 120 }] as const;

export async function runWorkload(params: WorkloadParams): Promise<WorkloadRun> {
  const random = new Random(params.seed);
  const traces = new MemoryTraceSink();
  const world = new SimWorld({ seed: params.seed, traceFor: () => traces });
  const ids = Array.from({ length: params.peers }, (_, i) => `p${i}`);
  const peers = ids.map((id) => world.addPeer(id));
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
  // handles[p][n]: peer p's handle to node n (its own nodes' handles for the owner).
  const handles: Handle[][] = peers.map((peer) =>
    nodes.map((node) => (node.owner === peer.id ? node.handle : world.give(node, peer.id))),
  );

  const counts: WorkloadCounts = { unicast: 0, multicast: 0, withHandles: 0, reaction: 0 };
  const results: SendResult[] = [];
  const sends: Promise<void>[] = [];
  let expectedDeliveries = 0;

  const pickTargets = (): number[] => {
    const count = random.chance(0.5) ? 1 : random.int(2, Math.min(5, nodes.length));
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(random.int(0, nodes.length - 1));
    return [...chosen];
  };

  const send = (from: number, targets: readonly number[], chain: Chain, reaction: boolean): void => {
    const peer = peers[from] as Peer;
    const own = nodes.filter((n) => n.owner === peer.id);
    const carry = random.chance(0.15) ? [random.pick(own).handle] : [];
    if (reaction) counts.reaction++;
    if (targets.length === 1) counts.unicast++;
    else counts.multicast++;
    if (carry.length > 0) counts.withHandles++;
    expectedDeliveries += targets.length;
    const to = targets.map((n) => handles[from]?.[n] as Handle);
    sends.push(peer.send(to, chain, { handles: carry }).then((result) => void results.push(result)));
  };

  for (const [index, peer] of peers.entries()) {
    void (async () => {
      for await (const event of peer) {
        if (event.kind !== "message") continue;
        const chain = event.payload as Chain;
        const [next, ...rest] = chain.hops;
        if (next) send(index, next, { hops: rest }, true);
      }
    })();
  }

  // Operations start at random virtual times, so concurrent sends interleave.
  for (let op = 0; op < params.operations; op++) {
    const from = random.int(0, peers.length - 1);
    const targets = pickTargets();
    const hops = Array.from({ length: random.chance(0.3) ? random.int(1, 3) : 0 }, pickTargets);
    world.scheduler.setTimer(random.int(0, 500), () => send(from, targets, { hops }, false));
  }

  await world.run();
  await Promise.all(sends);
  const orders = new Map<string, Array<readonly [number, string, number]>>();
  let deliveries = 0;
  for (const [peer, records] of traces.byPeer) {
    const order: Array<readonly [number, string, number]> = [];
    for (const r of records) {
      if (r.op === "deliver") {
        order.push(r.ts);
        deliveries++;
      }
    }
    orders.set(peer, order);
  }
  await world.close();
  return { traces, counts, results, expectedDeliveries, deliveries, orders };
}
