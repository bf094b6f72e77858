/**
 * A chat member in a page (no DOM here): a keyed browser peer that imports the room by its
 * capability URL (dialling ws://host:port), creates its inbox node, joins with a handle to it, and
 * reports everything it delivers, in the order, through `onEvent`.
 */
import { type Handle, MemoryTraceSink, type Node, type Peer, startBrowserPeer } from "@capbus/browser";
import type { ToMember, ToRoom } from "../messages.js";

export type ChatEvent =
  | { readonly kind: "message"; readonly message: ToMember; readonly ts: readonly [number, string, number] }
  | { readonly kind: "destroyed"; readonly what: "room" | "inbox"; readonly reason: string }
  | { readonly kind: "released"; readonly what: "inbox" }
  | { readonly kind: "ended" };

export class ChatClient {
  readonly peer: Peer;
  readonly room: Handle;
  readonly inbox: Node;
  readonly trace: MemoryTraceSink;
  readonly #close: () => Promise<void>;

  private constructor(
    peer: Peer,
    room: Handle,
    inbox: Node,
    trace: MemoryTraceSink,
    close: () => Promise<void>,
  ) {
    this.peer = peer;
    this.room = room;
    this.inbox = inbox;
    this.trace = trace;
    this.#close = close;
  }

  static async join(roomUrl: string, name: string, onEvent: (event: ChatEvent) => void): Promise<ChatClient> {
    const trace = new MemoryTraceSink();
    const started = await startBrowserPeer({ trace });
    const room = await started.peer.import(roomUrl);
    const inbox = started.peer.createNode();
    const client = new ChatClient(started.peer, room, inbox, trace, started.close);
    void client.#run(onEvent);
    await client.#send({ type: "join", name }, [inbox.handle]);
    return client;
  }

  say(text: string): Promise<void> {
    return this.#send({ type: "say", text });
  }

  /** Let go of the room and destroy the inbox: the room announces it, in the order. */
  async leave(): Promise<void> {
    this.room.release();
    await this.peer.destroy(this.inbox);
  }

  /** Close the peer gracefully (what is left of its nodes and handles goes first). */
  close(): Promise<void> {
    return this.#close();
  }

  async #send(message: ToRoom, handles: readonly Handle[] = []): Promise<void> {
    const result = await this.peer.send(this.room, message, { handles });
    if (!result.ok) throw new Error(`not delivered: ${result.destinations[0]?.code}`);
  }

  async #run(onEvent: (event: ChatEvent) => void): Promise<void> {
    for await (const event of this.peer) {
      if (event.kind === "message") {
        const { lamport, peer, seq } = event.ts;
        onEvent({ kind: "message", message: event.payload as ToMember, ts: [lamport, peer, seq] });
      } else if (event.kind === "destroyed") {
        const what = event.handle.name === this.room.name ? "room" : "inbox";
        onEvent({ kind: "destroyed", what, reason: event.reason });
      } else {
        onEvent({ kind: "released", what: "inbox" });
      }
    }
    onEvent({ kind: "ended" });
  }
}
