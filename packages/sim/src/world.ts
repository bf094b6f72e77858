/**
 * Many peers in one process on one simulated network: the harness for property tests, scenario
 * tests and the simulated demo. Every pair of peers gets at most one link, made on demand.
 */
import { type Handle, type Node, Peer, type PeerOptions } from "@capbus/core";
import type { TraceSink } from "@capbus/trace";
import type { LinkLatency } from "./latency.js";
import { SimNetwork } from "./network.js";
import type { RunOptions, RunResult, SimScheduler } from "./scheduler.js";

/** Options of a SimWorld. */
export interface SimWorldOptions {
  /** The seed of the network (latencies, losses) and of the peers' randomness. */
  readonly seed: number;
  /** Default latency of new links. @default "normal" */
  readonly latency?: LinkLatency;
  /** The trace sink of each peer (e.g. a shared memory sink, a file per peer). @default none */
  readonly traceFor?: (peerId: string) => TraceSink | undefined;
  /**
   * Give each peer a dialler (spec/bootstrap.md): dialling `remote` at an advertised `sim:<id>`
   * endpoint links the two after `dialDelayMs`. Unknown or unreachable ids never answer.
   * @default false
   */
  readonly dial?: boolean;
  /** @default 5 */
  readonly dialDelayMs?: number;
  /** Peer ids a dial never reaches (to test unreachable owners). @default none */
  readonly unreachable?: ReadonlySet<string>;
  /** The peers' dial timeout. @default 10000 */
  readonly dialTimeoutMs?: number;
}

/** Options of one simulated peer: its PeerOptions but those the world sets, and its wall clock's offset. */
export type SimPeerOptions = Omit<PeerOptions, "id" | "runtime" | "trace" | "dial"> & {
  readonly wallOffsetMs?: number;
};

/** Many Peers on one SimNetwork and one virtual clock: add peers, link them, drive the scheduler. */
export class SimWorld {
  readonly network: SimNetwork;
  readonly peers = new Map<string, Peer>();
  readonly #traceFor: ((peerId: string) => TraceSink | undefined) | undefined;
  readonly #options: SimWorldOptions;
  readonly #crashed = new Set<string>();

  constructor(options: SimWorldOptions) {
    this.#options = options;
    this.network = new SimNetwork(
      options.latency === undefined
        ? { seed: options.seed }
        : { seed: options.seed, latency: options.latency },
    );
    this.#traceFor = options.traceFor;
  }

  /** The virtual clock every peer and link of this world runs on. */
  get scheduler(): SimScheduler {
    return this.network.scheduler;
  }

  /**
   * Create a peer named `id` on this network. `wallOffsetMs`: its wall clock reads the virtual
   * time plus this (a host whose clock is off; spec/ordering.md §2). @default 0
   */
  addPeer(id: string, extra: SimPeerOptions = {}): Peer {
    if (this.peers.has(id)) throw new Error(`peer ${id} exists`);
    const options = this.#options;
    const { wallOffsetMs, ...rest } = extra;
    const peer = new Peer({
      ...rest,
      id,
      runtime: this.scheduler.runtime(id, wallOffsetMs),
      trace: this.#gate(id, this.#traceFor?.(id)),
      ...(options.dialTimeoutMs === undefined ? {} : { dialTimeoutMs: options.dialTimeoutMs }),
      ...(options.dial ? { dial: (remote: string) => this.#dial(id, remote) } : {}),
    });
    this.peers.set(id, peer);
    if (options.dial) peer.advertise(`sim:${id}`);
    return peer;
  }

  /** The peer named `id`; throws if there is none. */
  peer(id: string): Peer {
    const peer = this.peers.get(id);
    if (!peer) throw new Error(`no peer ${id}`);
    return peer;
  }

  /** Link two peers (both ends know whom they expect). */
  link(a: string, b: string, latency?: LinkLatency): void {
    const [atA, atB] = this.network.link(a, b, latency === undefined ? {} : { latency });
    this.peer(a).connect(atA, b);
    this.peer(b).connect(atB, a);
  }

  #dial(from: string, remote: string): void {
    if (this.#options.unreachable?.has(remote) || !this.peers.has(remote)) return;
    this.scheduler.setTimer(this.#options.dialDelayMs ?? 5, () => {
      const dead = this.network.isCrashed(from) || this.network.isCrashed(remote);
      if (!dead && !this.peer(from).linkedPeers.includes(remote)) this.link(from, remote);
    });
  }

  /**
   * Kill peer `id` as its process would die (SimNetwork.crash): what it sent arrives, nothing more
   * leaves it, and its trace ends here, a prefix of what it would have written, with no `close`
   * (spec/trace.md §1). The Peer object lives on, cut off; `close` still winds it down.
   */
  crash(id: string): void {
    this.peer(id);
    this.#crashed.add(id);
    this.network.crash(id);
  }

  /** A peer's trace sink that stops writing once the peer crashed. */
  #gate(id: string, sink: TraceSink | undefined): TraceSink | undefined {
    if (sink === undefined) return undefined;
    const crashed = this.#crashed;
    return {
      write(record) {
        if (!crashed.has(id)) sink.write(record);
      },
    };
  }

  /** Link every pair of peers not linked yet. */
  linkAll(latency?: LinkLatency): void {
    const ids = [...this.peers.keys()];
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = ids[i] as string;
        const b = ids[j] as string;
        if (!this.peer(a).linkedPeers.includes(b)) this.link(a, b, latency);
      }
    }
  }

  /** Bootstrap: `holder` gets a handle to `node` of its owner, outside any message. */
  give(node: Node, holder: string): Handle {
    const grant = this.peer(node.owner).grant(node, holder);
    return this.peer(holder).importHandle(grant);
  }

  /** Run the shared scheduler (see SimScheduler.run). */
  run(options?: RunOptions): Promise<RunResult> {
    return this.scheduler.run(options);
  }

  /** Close every peer gracefully and let the network go quiet. */
  async close(): Promise<void> {
    const closing = [...this.peers.values()].map((p) => p.close());
    await this.scheduler.run();
    await Promise.all(closing);
    await this.scheduler.run();
  }
}
