/**
 * The owner's side of handles (spec/ordering.md §5, spec/ordering.md §9, spec/ordering.md §10, spec/ordering.md §11): per node, who holds how many
 * references, whether it is being destroyed, and the frames held during a destroy's pick window.
 */
import type { Node } from "./handles.js";
import { compareTimestamps, type Timestamp } from "./timestamp.js";

export type NodeState = "alive" | "destroying" | "picking" | "destroyed";

export class OwnedNode {
  readonly node: Node;
  /** References per peer other than the owner; a peer with a count is a holder. */
  readonly references = new Map<string, number>();
  state: NodeState = "alive";
  /**
   * References counted for a receiver at a sender's transfer, by `sender>receiver`: what that
   * sender may give back on the receiver's behalf if the transfer never arrives (spec/ordering.md §10).
   */
  readonly #credits = new Map<string, number>();
  /** The final of the node's destroy, once picked. */
  destroyedAt: Timestamp | undefined;

  constructor(node: Node) {
    this.node = node;
  }

  /** May `peer` send to this node? */
  allows(peer: string): boolean {
    return peer === this.node.owner || (this.references.get(peer) ?? 0) > 0;
  }

  /** Add one reference for each peer (the owner itself is not counted). */
  acquire(peers: Iterable<string>, sender?: string): void {
    for (const peer of peers) {
      if (peer === this.node.owner) continue;
      this.references.set(peer, (this.references.get(peer) ?? 0) + 1);
      if (sender !== undefined && sender !== peer) {
        const key = `${sender}>${peer}`;
        this.#credits.set(key, (this.#credits.get(key) ?? 0) + 1);
      }
    }
  }

  /** May `sender` give back `count` references of `holder` (its transfer never reached it)? */
  takeCredit(sender: string, holder: string, count: number): boolean {
    const key = `${sender}>${holder}`;
    const credit = this.#credits.get(key) ?? 0;
    if (credit < count) return false;
    if (credit === count) this.#credits.delete(key);
    else this.#credits.set(key, credit - count);
    return true;
  }

  /**
   * Drop `count` references of `holder`. Returns true when this took the last reference held
   * outside the owner: the owner then gets a released notification.
   */
  release(holder: string, count: number): boolean {
    const held = this.references.get(holder);
    if (held === undefined) return false;
    if (held > count) {
      this.references.set(holder, held - count);
      return false;
    }
    this.references.delete(holder);
    for (const key of this.#credits.keys()) if (key.endsWith(`>${holder}`)) this.#credits.delete(key);
    return this.references.size === 0;
  }

  /**
   * `peer`'s session is over and its entries delivered: drop the credits of its transfers (it can
   * no longer give back), those counted for it, and with `references` what it still holds (a
   * clean close: an honest peer released everything before, in the order). No notification.
   */
  forget(peer: string, references: boolean): void {
    if (references) this.references.delete(peer);
    for (const key of this.#credits.keys())
      if (key.startsWith(`${peer}>`) || key.endsWith(`>${peer}`)) this.#credits.delete(key);
  }

  /** Credit entries kept (stats and tests). */
  get credits(): number {
    return this.#credits.size;
  }

  /** Is the node's destroy ordered before `ts`? */
  destroyedBefore(ts: Timestamp): boolean {
    return this.destroyedAt !== undefined && compareTimestamps(this.destroyedAt, ts) < 0;
  }
}

/** Frames answered later: those naming a node inside a destroy's pick window (spec/ordering.md §9 step 2). */
export class HeldFrames {
  readonly #held: Array<{ readonly from: string; readonly event: number; readonly run: () => void }> = [];

  get size(): number {
    return this.#held.length;
  }

  hold(from: string, event: number, run: () => void): void {
    this.#held.push({ from, event, run });
  }

  /** Is a frame of `from` held? */
  holds(from: string): boolean {
    return this.#held.some((h) => h.from === from);
  }

  /** The sender aborted a held event: it is never answered. */
  drop(from: string, event: number): boolean {
    const i = this.#held.findIndex((h) => h.from === from && h.event === event);
    if (i >= 0) this.#held.splice(i, 1);
    return i >= 0;
  }

  /** The sender is gone: forget its held frames. */
  dropSender(from: string): void {
    for (let i = this.#held.length - 1; i >= 0; i--)
      if (this.#held[i]?.from === from) this.#held.splice(i, 1);
  }

  /** Answer every held frame now (in arrival order); those that still must wait are held again. */
  replay(): void {
    for (const held of this.#held.splice(0)) held.run();
  }
}
