/**
 * Nodes and handles as the application sees them. A node is owned by exactly one peer; a handle
 * names a node from the point of view of the peer holding it. A peer holds at most one handle
 * object per node (spec/model.md §Handles).
 */

/** The printable global name of a node: `<owner peer id>/<node number>` (used in traces). */
export function nodeName(owner: string, id: number): string {
  return `${owner}/${id}`;
}

export class Handle {
  /** The peer that owns the node. */
  readonly owner: string;
  /** The node's number at its owner. */
  readonly nodeId: number;
  /** `<owner>/<nodeId>`: the same string at every peer. */
  readonly name: string;
  /** The peer that holds this handle. */
  readonly holder: string;

  /** @internal Handles are made by a Peer, never by applications. */
  constructor(holder: string, owner: string, nodeId: number) {
    this.holder = holder;
    this.owner = owner;
    this.nodeId = nodeId;
    this.name = nodeName(owner, nodeId);
  }
}

export class Node {
  readonly owner: string;
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
