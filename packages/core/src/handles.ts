/**
 * Nodes and handles as the application sees them (spec/ordering.md §5). A node is owned by
 * exactly one peer; a handle names a node from the point of view of the peer holding it. A peer
 * holds at most one live handle object per node and counts the references it received; a handle
 * once released or destroyed stays so, and the node received again comes as a new handle.
 */

/** The printable global name of a node: `<owner peer id>/<node number>` (used in traces). */
export function nodeName(owner: string, id: number): string {
  return `${owner}/${id}`;
}

/** What a handle needs from the peer that holds it. */
export interface HandleHost {
  /** The holder's last reference went: tell the owner (spec/ordering.md §10). */
  released(handle: Handle, count: number): void;
  /** The handle was released or destroyed: it leaves the holder's handle table (and `maxHandles`). */
  gone(handle: Handle): void;
}

export type HandleState = "live" | "released" | "destroyed";

/** `final`: destroyed by its owner, in the order: nothing brings it back (a lost owner's may return). */
type InnerState = HandleState | "final";

/**
 * A reference to a node, held by a peer: the only thing you can send to. It travels in messages and is
 * released with `release()` (or `using`).
 */
export class Handle implements Disposable {
  /** The peer that owns the node. */
  readonly owner: string;
  /** The node's number at its owner. */
  readonly nodeId: number;
  /** The peer that holds this handle. */
  readonly holder: string;
  // One field for the state and finality: a peer may hold a million handles (issue 19).
  #state: InnerState = "live";
  #references = 0;
  /** References received since the holder last released the handle: what its release drops. */
  #received = 0;
  readonly #host: HandleHost | undefined;

  /** @internal Handles are made by a Peer, never by applications. */
  constructor(holder: string, owner: string, nodeId: number, host?: HandleHost) {
    this.holder = holder;
    this.owner = owner;
    this.nodeId = nodeId;
    this.#host = host;
  }

  /** `<owner>/<nodeId>`: the same string at every peer. Built on each read: not kept per handle. */
  get name(): string {
    return nodeName(this.owner, this.nodeId);
  }

  /** `live`, `released` (its holder let go of it) or `destroyed` (its owner destroyed the node). */
  get state(): HandleState {
    return this.#state === "final" ? "destroyed" : this.#state;
  }

  /** References this holder has received and not released (0 for an owner's own handle). */
  get references(): number {
    return this.#references;
  }

  /**
   * Drop one reference. When the last one goes, the handle is released: it can no longer be
   * used, and the owner is told. An owner's handle to its own node is not counted: a no-op.
   */
  release(): void {
    if (this.#state !== "live" || this.#host === undefined || this.#references === 0) return;
    if (--this.#references > 0) return;
    this.#state = "released";
    this.#host.released(this, this.#received);
    this.#received = 0;
    this.#host.gone(this);
  }

  /** JSON and Node's console.log show the name, as when it was a field. */
  toJSON(): { owner: string; nodeId: number; name: string; holder: string } {
    return { owner: this.owner, nodeId: this.nodeId, name: this.name, holder: this.holder };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): object {
    return this.toJSON();
  }

  /** Release the handle when a `using` declaration goes out of scope. */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * @internal The holder received one more reference. A handle whose node its owner destroyed
   * stays destroyed (spec/ordering.md §5); it has left the holder's table, so a reference that
   * arrives later (after a lost owner's new session, say) makes a new handle.
   */
  acquire(): void {
    if (this.#state === "final") return;
    this.#references++;
    this.#received++;
    this.#state = "live";
  }

  /**
   * @internal The node is destroyed: by its owner, in the order (`final`), or as far as this
   * holder can tell, its owner being lost (a new session with the owner may bring it back).
   */
  markDestroyed(final = true): void {
    if (this.#state !== "final") this.#state = final ? "final" : "destroyed";
    this.#references = 0;
    this.#received = 0;
    this.#host?.gone(this);
  }
}

/**
 * A node owned by this peer: messages to it arrive in this peer's `receive`. Export it as a capability URL,
 * or send its handle in a message.
 */
export class Node {
  readonly owner: string;
  /** The node's number at its owner. */
  readonly id: number;
  readonly name: string;
  /** The owner's own handle to the node: send to it like to any other. */
  readonly handle: Handle;

  /** @internal Nodes are made by `Peer.createNode()`. */
  constructor(owner: string, id: number) {
    this.owner = owner;
    this.id = id;
    this.name = nodeName(owner, id);
    this.handle = new Handle(owner, owner, id);
  }
}

/**
 * A handle given outside any message (bootstrap): the owner names the peer it grants to.
 * Later issues bind grants to keys and carry them in capability URLs.
 */
export interface HandleGrant {
  readonly owner: string;
  readonly node: number;
  readonly holder: string;
}
