/**
 * The chat room, a node of a Node peer: members join by presenting its capability URL and sending
 * `join` with a handle to their own inbox node; everything said is multicast to every inbox in one
 * send, so every member sees the same conversation in the same (global) order. A member whose
 * inbox is destroyed (it left, crashed, or became unreachable) is announced as left.
 */
import type { Handle, Node, Peer } from "@capbus/core";
import type { ToMember, ToRoom } from "./messages.js";

export type RoomLog = (line: string) => void;

export class ChatRoom {
  readonly node: Node;
  /** Members by peer id. */
  readonly members = new Map<string, { readonly name: string; readonly inbox: Handle }>();
  readonly done: Promise<void>;
  readonly #peer: Peer;
  readonly #log: RoomLog;

  constructor(peer: Peer, log: RoomLog = () => undefined) {
    this.#peer = peer;
    this.#log = log;
    this.node = peer.createNode();
    this.done = this.#run();
  }

  /** A fresh capability URL for the room. */
  url(): string {
    return this.#peer.export(this.node);
  }

  /** Destroy the room (every member is told, in the order), then let go of the members' inboxes. */
  async close(): Promise<void> {
    await this.#peer.destroy(this.node);
    for (const member of this.members.values()) member.inbox.release();
    this.members.clear();
    await this.done;
  }

  #multicast(message: ToMember): void {
    const inboxes = [...this.members.values()].map((m) => m.inbox);
    if (inboxes.length === 0) return;
    this.#peer.send(inboxes, message).catch((error: unknown) => this.#log(`multicast failed: ${error}`));
  }

  async #run(): Promise<void> {
    for await (const event of this.#peer) {
      if (event.kind === "message" && event.node.id === this.node.id) {
        const from = event.event.slice(0, event.event.lastIndexOf(":"));
        const message = event.payload as ToRoom;
        const inbox = event.handles[0];
        if (message.type === "join" && inbox && typeof message.name === "string") {
          this.members.get(from)?.inbox.release();
          this.members.set(from, { name: message.name.slice(0, 40), inbox });
          this.#log(`${message.name} joined (${from.slice(0, 8)})`);
          const members = [...this.members.values()].map((m) => m.name);
          this.#multicast({ type: "joined", name: message.name, members });
        } else if (message.type === "say" && typeof message.text === "string") {
          const member = this.members.get(from);
          if (!member) continue;
          this.#log(`${member.name}: ${message.text}`);
          this.#multicast({ type: "said", name: member.name, text: message.text.slice(0, 2000) });
        }
      } else if (event.kind === "destroyed" && event.handle.owner === this.#peer.id) {
        this.#log("the room is destroyed");
        return;
      } else if (event.kind === "destroyed") {
        const [id, member] = [...this.members].find(([, m]) => m.inbox === event.handle) ?? [];
        if (id === undefined || !member) continue;
        this.members.delete(id);
        this.#log(`${member.name} left (${event.reason})`);
        this.#multicast({ type: "left", name: member.name, reason: event.reason });
      } else if (event.kind === "released") {
        this.#log(`every holder let go of ${event.node.name}`);
      }
    }
  }
}
