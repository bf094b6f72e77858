/**
 * Destroys that reach a peer holding none of their nodes (spec/ordering.md §9, "Unheld destroys").
 * Anyone owns nodes, so a `destroy` needs no capability at its receiver: queued and clocked like
 * a stage, one from a peer holding nothing moved the receiver's clock and blocked its queue
 * (issue 17). Such a destroy is kept here instead, out of the queue and without its clock, until
 * its commit (a tombstone), its abort, or the arrival of a message carrying one of its nodes,
 * which promotes it to an ordinary staged entry. This module keeps the records and the index of
 * the handles queued messages carry; `Inbound` applies the rules.
 */
import { nodeName } from "./handles.js";

/** One destroy kept out of the queue. */
export interface UnheldDestroy {
  /** The destroy's sender: the nodes' owner. */
  readonly owner: string;
  readonly event: number;
  readonly nodes: readonly number[];
  /** The proposal answered (C + 1 when it arrived; the clock was not moved). */
  readonly proposal: number;
  /** Decoded size charged to the owner's quota while it is kept. */
  readonly charge: number;
}

export class UnheldDestroys {
  /** Per owner, its records by event number. */
  readonly #byOwner = new Map<string, Map<number, UnheldDestroy>>();
  /** Per node name, the records naming it (usually one). */
  readonly #byNode = new Map<string, Set<UnheldDestroy>>();
  /** Per node name, how many queued (undelivered) messages carry a handle to it. */
  readonly #carried = new Map<string, number>();
  #size = 0;

  /** Records kept (stats and tests). */
  get size(): number {
    return this.#size;
  }

  /** Does a queued message carry a handle to `owner`'s `node`? */
  carried(owner: string, node: number): boolean {
    return this.#carried.has(nodeName(owner, node));
  }

  /** A message carrying these handles was queued (`delta` 1) or left the queue (`delta` -1). */
  count(handles: readonly { readonly owner: string; readonly node: number }[], delta: 1 | -1): void {
    for (const ref of handles) {
      const name = nodeName(ref.owner, ref.node);
      const n = (this.#carried.get(name) ?? 0) + delta;
      if (n > 0) this.#carried.set(name, n);
      else this.#carried.delete(name);
    }
  }

  has(owner: string, event: number): boolean {
    return this.#byOwner.get(owner)?.has(event) ?? false;
  }

  get(owner: string, event: number): UnheldDestroy | undefined {
    return this.#byOwner.get(owner)?.get(event);
  }

  /** Is an undecided destroy of `owner`'s `node` kept here? */
  names(owner: string, node: number): boolean {
    return this.#byNode.has(nodeName(owner, node));
  }

  /** The records naming `owner`'s `node`. */
  naming(owner: string, node: number): UnheldDestroy[] {
    const records = this.#byNode.get(nodeName(owner, node));
    return records ? [...records] : [];
  }

  add(record: UnheldDestroy): void {
    let events = this.#byOwner.get(record.owner);
    if (!events) {
      events = new Map();
      this.#byOwner.set(record.owner, events);
    }
    events.set(record.event, record);
    for (const node of record.nodes) {
      const name = nodeName(record.owner, node);
      let records = this.#byNode.get(name);
      if (!records) {
        records = new Set();
        this.#byNode.set(name, records);
      }
      records.add(record);
    }
    this.#size++;
  }

  /** Remove and return `owner`'s record of `event`, if kept. */
  take(owner: string, event: number): UnheldDestroy | undefined {
    const events = this.#byOwner.get(owner);
    const record = events?.get(event);
    if (!events || !record) return undefined;
    events.delete(event);
    if (events.size === 0) this.#byOwner.delete(owner);
    for (const node of record.nodes) {
      const name = nodeName(owner, node);
      const records = this.#byNode.get(name);
      records?.delete(record);
      if (records?.size === 0) this.#byNode.delete(name);
    }
    this.#size--;
    return record;
  }

  /** Remove and return every record of `owner` (its session ended: none can be committed). */
  takeOwner(owner: string): UnheldDestroy[] {
    const events = this.#byOwner.get(owner);
    if (!events) return [];
    return [...events.keys()].flatMap((event) => this.take(owner, event) ?? []);
  }
}
