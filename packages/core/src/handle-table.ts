/**
 * The handles a peer holds, one per node (spec/ordering.md §5), found by owner and node number.
 * Keyed by the printable name, each handle cost a name string (32 bytes, 80 with a real peer id's
 * length) besides its map entry; keyed by owner, then number, it costs none (issue 19). An owner
 * of one handle keeps it without a map of its own, so many owners of one handle each cost no more.
 */
import type { Handle } from "./handles.js";

export class HandleTable {
  /** Per owner, its one handle, or once it had two, a map of them by node number. */
  readonly #byOwner = new Map<string, Handle | Map<number, Handle>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  find(owner: string, node: number): Handle | undefined {
    const held = this.#byOwner.get(owner);
    if (held === undefined || !(held instanceof Map)) return held?.nodeId === node ? held : undefined;
    return held.get(node);
  }

  /** By the printable name `<owner>/<node>` (nodeName): the owner id may hold a `/`, the number not. */
  get(name: string): Handle | undefined {
    const slash = name.lastIndexOf("/");
    return this.find(name.slice(0, slash), Number(name.slice(slash + 1)));
  }

  /** Is this very handle in the table (not another for the same node)? */
  holds(handle: Handle): boolean {
    return this.find(handle.owner, handle.nodeId) === handle;
  }

  /** Add a handle; the caller has checked that none is held for its node. */
  add(handle: Handle): void {
    const held = this.#byOwner.get(handle.owner);
    if (held === undefined) this.#byOwner.set(handle.owner, handle);
    else if (held instanceof Map) held.set(handle.nodeId, handle);
    else {
      this.#byOwner.set(
        handle.owner,
        new Map([
          [held.nodeId, held],
          [handle.nodeId, handle],
        ]),
      );
    }
    this.#size++;
  }

  /**
   * Remove this very handle; false if it is not in the table. A map emptied goes, one left with a
   * single handle stays a map: turning it back while `values()` walks it would skip handles.
   */
  delete(handle: Handle): boolean {
    if (!this.holds(handle)) return false;
    const held = this.#byOwner.get(handle.owner);
    if (held instanceof Map) held.delete(handle.nodeId);
    if (!(held instanceof Map) || held.size === 0) this.#byOwner.delete(handle.owner);
    this.#size--;
    return true;
  }

  /** Every handle; deleting while walking is safe, as for a Map. */
  *values(): IterableIterator<Handle> {
    for (const held of this.#byOwner.values()) {
      if (held instanceof Map) yield* held.values();
      else yield held;
    }
  }
}
