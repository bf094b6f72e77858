/**
 * Third peers' nodes a holder was told are destroyed (spec/ordering.md §9, spec/ordering.md §11): a handle to one
 * that arrives later in the order arrives dead. Bounded (spec/limits.md §4): a tombstone is kept
 * `keepMs` after the destroy's delivery (by then no message that can carry the node is still on
 * its way, see spec/ordering.md §5), and at most `max` in all; beyond that the owner with the most
 * loses its oldest, so an owner that destroys nodes in bulk (or a hostile one naming any node
 * numbers in a `destroy`) evicts only its own. Before, they grew without bound (issue 17).
 */
import type { Timestamp } from "./timestamp.js";

/**
 * One destroyed node. Its destroy's timestamp is kept as its two numbers (its peer is the owner:
 * a destroy is its owner's event), so a tombstone is one small object.
 */
interface Tombstone {
  readonly node: number;
  readonly lamport: number;
  readonly seq: number;
  /** When its destroy was delivered here: the Runtime clock in whole ms, rounded up (kept >= keepMs). */
  readonly at: number;
}

/**
 * An owner's tombstones, oldest first. Most owners have one (a peer that destroys its node and
 * leaves, issue 17 finding 10): it is kept alone, since a Map of one costs ~300 bytes more.
 */
type OwnerTombstones = Tombstone | Map<number, Tombstone>;

/** Tombstones kept at most, by default. */
export const MAX_TOMBSTONES = 65_536;

/** Owners the sweep looks at per insertion (see Tombstones.#sweep). */
const SWEEP_PER_SET = 2;

export class Tombstones {
  /** Per owner, its nodes' tombstones, oldest first. */
  readonly #byOwner = new Map<string, OwnerTombstones>();
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

  /** The destroy of `owner`'s `node` was delivered at `ts` (`ts.peer` is `owner`), at `now`. */
  set(owner: string, node: number, ts: Timestamp, now: number): void {
    const tomb: Tombstone = { node, lamport: ts.lamport, seq: ts.seq, at: Math.ceil(now) };
    const held = this.#byOwner.get(owner);
    if (held === undefined) {
      this.#byOwner.set(owner, tomb);
      this.#size++;
    } else if (!(held instanceof Map) && held.node === node) {
      this.#byOwner.set(owner, tomb);
    } else {
      const nodes = held instanceof Map ? held : new Map([[held.node, held]]);
      if (!nodes.has(node)) this.#size++;
      nodes.set(node, tomb);
      this.#byOwner.set(owner, nodes);
    }
    this.#expire(owner, now);
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
      const front = this.#byOwner.keys().next();
      if (front.done) return;
      const owner = front.value;
      const held = this.#expire(owner, now);
      if (held === undefined) continue;
      this.#byOwner.delete(owner);
      this.#byOwner.set(owner, held);
    }
  }

  /** The destroy of `owner`'s `node`, if it is remembered. */
  get(owner: string, node: number): Timestamp | undefined {
    const held = this.#byOwner.get(owner);
    const tomb = held instanceof Map ? held.get(node) : held?.node === node ? held : undefined;
    return tomb && { lamport: tomb.lamport, peer: owner, seq: tomb.seq };
  }

  /** Drop `owner`'s tombstones older than keepMs (they are oldest first); what is left of them. */
  #expire(owner: string, now: number): OwnerTombstones | undefined {
    const held = this.#byOwner.get(owner);
    if (held === undefined) return undefined;
    if (!(held instanceof Map)) {
      if (now - held.at < this.#keepMs) return held;
      this.#byOwner.delete(owner);
      this.#size--;
      return undefined;
    }
    for (const [node, tomb] of held) {
      if (now - tomb.at < this.#keepMs) break;
      held.delete(node);
      this.#size--;
    }
    return this.#settle(owner, held);
  }

  /** An owner's Map after removals: gone when empty, its one tombstone alone when it has one. */
  #settle(owner: string, nodes: Map<number, Tombstone>): OwnerTombstones | undefined {
    if (nodes.size > 1) return nodes;
    const [only] = nodes.values();
    if (only === undefined) this.#byOwner.delete(owner);
    else this.#byOwner.set(owner, only);
    return only;
  }

  /**
   * Over the cap: expire every owner's old tombstones, then take the oldest of the owner with the
   * most down to 15/16 of the cap (so the scan over owners is paid once per many insertions).
   */
  #evict(now: number): void {
    // Deleting, or setting an existing key, while iterating a Map is safe.
    for (const owner of this.#byOwner.keys()) this.#expire(owner, now);
    const target = Math.floor((this.#max * 15) / 16);
    while (this.#size > target) {
      let largest: [string, Map<number, Tombstone>] | undefined;
      for (const [owner, held] of this.#byOwner)
        if (held instanceof Map && held.size > (largest?.[1].size ?? 0)) largest = [owner, held];
      if (!largest) {
        // Every owner has one: the oldest goes.
        const [oldest] = this.#byOwner.keys();
        if (oldest === undefined) return;
        this.#byOwner.delete(oldest);
        this.#size--;
        continue;
      }
      const [owner, nodes] = largest;
      // Down to the next largest owner's count (at least one), so owners even out.
      let next = 0;
      for (const [other, theirs] of this.#byOwner) if (other !== owner) next = Math.max(next, sizeOf(theirs));
      let drop = Math.max(1, Math.min(nodes.size - next, this.#size - target));
      for (const node of nodes.keys()) {
        if (drop-- === 0) break;
        nodes.delete(node);
        this.#size--;
      }
      this.#settle(owner, nodes);
    }
  }
}

function sizeOf(held: OwnerTombstones): number {
  return held instanceof Map ? held.size : 1;
}
