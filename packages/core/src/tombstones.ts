/**
 * Third peers' nodes a holder was told are destroyed (spec/ordering.md §9, spec/ordering.md §11): a handle to one
 * that arrives later in the order arrives dead. Bounded (spec/limits.md §4): a tombstone is kept
 * `keepMs` after the destroy's delivery (by then no message that can carry the node is still on
 * its way, see spec/ordering.md §5), and at most `max` in all; beyond that the owner with the most
 * loses its oldest, so an owner that destroys nodes in bulk (or a hostile one naming any node
 * numbers in a `destroy`) evicts only its own. Before, they grew without bound (issue 17).
 */
import type { Timestamp } from "./timestamp.js";

interface Tombstone {
  readonly ts: Timestamp;
  /** When its destroy was delivered here (the Runtime clock, ms). */
  readonly at: number;
}

/** Tombstones kept at most, by default. */
export const MAX_TOMBSTONES = 65_536;

/** Owners the sweep looks at per insertion (see Tombstones.#sweep). */
const SWEEP_PER_SET = 2;

export class Tombstones {
  /** Per owner, its nodes' tombstones, oldest first. */
  readonly #byOwner = new Map<string, Map<number, Tombstone>>();
  #size = 0;
  readonly #max: number;
  readonly #keepMs: number;

  constructor(max: number, keepMs: number) {
    this.#max = max;
    this.#keepMs = keepMs;
  }

  /** Tombstones held. */
  get size(): number {
    return this.#size;
  }

  /** The destroy of `owner`'s `node` was delivered at `ts`, at `now`. */
  set(owner: string, node: number, ts: Timestamp, now: number): void {
    let nodes = this.#byOwner.get(owner);
    if (!nodes) {
      nodes = new Map();
      this.#byOwner.set(owner, nodes);
    }
    if (!nodes.has(node)) this.#size++;
    nodes.set(node, { ts, at: now });
    this.#expire(owner, nodes, now);
    this.#sweep(now);
    if (this.#size > this.#max) this.#evict(now);
  }

  /**
   * Expire the owners at the front of the table, a few per insertion, moving one still within
   * keepMs to the back: an owner that destroys once and leaves (a cleanly closed peer) has its
   * tombstone dropped after keepMs, not left until the cap (issue 17 finding 10). Two per call
   * outpace the at most one owner each call adds, so every owner is visited again in time.
   */
  #sweep(now: number): void {
    for (let i = 0; i < SWEEP_PER_SET; i++) {
      const front = this.#byOwner.entries().next();
      if (front.done) return;
      const [owner, nodes] = front.value;
      this.#expire(owner, nodes, now);
      if (nodes.size === 0) continue;
      this.#byOwner.delete(owner);
      this.#byOwner.set(owner, nodes);
    }
  }

  /** The destroy of `owner`'s `node`, if it is remembered. */
  get(owner: string, node: number): Timestamp | undefined {
    return this.#byOwner.get(owner)?.get(node)?.ts;
  }

  /** Drop `owner`'s tombstones older than keepMs (they are oldest first). */
  #expire(owner: string, nodes: Map<number, Tombstone>, now: number): void {
    for (const [node, tomb] of nodes) {
      if (now - tomb.at < this.#keepMs) break;
      nodes.delete(node);
      this.#size--;
    }
    if (nodes.size === 0) this.#byOwner.delete(owner);
  }

  /**
   * Over the cap: expire every owner's old tombstones, then take the oldest of the owner with the
   * most down to 15/16 of the cap (so the scan over owners is paid once per many insertions).
   */
  #evict(now: number): void {
    for (const [owner, nodes] of this.#byOwner) this.#expire(owner, nodes, now);
    const target = Math.floor((this.#max * 15) / 16);
    while (this.#size > target) {
      let largest: [string, Map<number, Tombstone>] | undefined;
      for (const entry of this.#byOwner) if (!largest || entry[1].size > largest[1].size) largest = entry;
      if (!largest) return;
      const [owner, nodes] = largest;
      // Down to the next largest owner's count (at least one), so owners even out.
      let next = 0;
      for (const [other, theirs] of this.#byOwner) if (other !== owner) next = Math.max(next, theirs.size);
      let drop = Math.max(1, Math.min(nodes.size - next, this.#size - target));
      for (const node of nodes.keys()) {
        if (drop-- === 0) break;
        nodes.delete(node);
        this.#size--;
      }
      if (nodes.size === 0) this.#byOwner.delete(owner);
    }
  }
}
