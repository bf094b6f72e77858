/**
 * The destination's side of the ordering protocol (spec/ordering.md §3.2, §3.4, §6, §7): checks
 * what arrives against the owner's nodes, proposes, commits, and delivers from the queue.
 */

import type { TraceRecord } from "@capbus/trace";
import type { HandleRef, StageFrame, UnicastFrame } from "@capbus/wire";
import { CapbusError, type CoreErrorCode } from "./errors.js";
import type { MessageEvent } from "./events.js";
import type { Handle, Node } from "./handles.js";
import { IncomingQueue } from "./queue.js";
import { assertNoClockJump, type LamportClock } from "./timestamp.js";

/** What a queue entry holds until it is delivered. */
interface Incoming {
  readonly nodes: readonly number[];
  readonly payload: unknown;
  readonly handles: readonly HandleRef[];
}

export interface OwnedNode {
  readonly node: Node;
  /** Peers allowed to send to the node (the owner always is). */
  readonly holders: Set<string>;
}

/** What the inbound side needs from its peer. */
export interface InboundContext {
  readonly id: string;
  readonly clock: LamportClock;
  owned(node: number): OwnedNode | undefined;
  handleFor(owner: string, node: number): Handle;
  trace(record: TraceRecord): void;
  deliver(event: MessageEvent): void;
}

/** The reply a stage or unicast gets. */
export type Answer =
  | { readonly type: "propose" | "accept"; readonly event: number; readonly lamport: number }
  | { readonly type: "reject"; readonly event: number; readonly code: CoreErrorCode };

export class Inbound {
  readonly #queue = new IncomingQueue<Incoming>();
  readonly #ctx: InboundContext;

  constructor(ctx: InboundContext) {
    this.#ctx = ctx;
  }

  /** Entries staged or committed here and not yet delivered. */
  get size(): number {
    return this.#queue.size;
  }

  stage(from: string, frame: StageFrame): Answer {
    const { clock, id } = this.#ctx;
    assertNoClockJump(clock, frame.clock);
    for (const ref of frame.handles) {
      if (ref.owner !== from && ref.owner !== id) {
        throw new CapbusError("E_PROTOCOL", `a handle to ${ref.owner}/${ref.node}, a third peer's node`);
      }
    }
    const refused = this.#refuse(from, frame.nodes);
    if (refused) return { type: "reject", event: frame.event, code: refused };
    if (this.#queue.get(from, frame.event))
      throw new CapbusError("E_PROTOCOL", `event ${frame.event} staged twice`);
    clock.observe(frame.clock);
    const proposal = clock.tick();
    this.#queue.insert(from, frame.event, proposal, false, frame);
    return { type: "propose", event: frame.event, lamport: proposal };
  }

  /** The fast path: the receiver assigns the final on arrival. */
  unicast(from: string, frame: UnicastFrame): Answer {
    const { clock } = this.#ctx;
    assertNoClockJump(clock, frame.clock);
    const refused = this.#refuse(from, [frame.node]);
    if (refused) return { type: "reject", event: frame.event, code: refused };
    if (this.#queue.get(from, frame.event))
      throw new CapbusError("E_PROTOCOL", `event ${frame.event} sent twice`);
    clock.observe(frame.clock);
    const final = clock.tick();
    this.#queue.insert(from, frame.event, final, true, {
      nodes: [frame.node],
      payload: frame.payload,
      handles: [],
    });
    this.deliverReady();
    return { type: "accept", event: frame.event, lamport: final };
  }

  commit(from: string, seq: number, final: number): void {
    const { clock } = this.#ctx;
    assertNoClockJump(clock, final);
    const entry = this.#queue.get(from, seq);
    if (!entry || entry.committed) throw new CapbusError("E_PROTOCOL", `commit for event ${seq}, not staged`);
    if (final < entry.lamport) {
      throw new CapbusError("E_PROTOCOL", `final ${final} below the proposal ${entry.lamport}`);
    }
    clock.observe(final);
    this.#queue.commit(entry, final);
    this.deliverReady();
  }

  abort(from: string, seq: number): void {
    const entry = this.#queue.get(from, seq);
    if (!entry || entry.committed) return; // aborted before it was staged here, or stale
    this.#queue.remove(entry);
    this.deliverReady();
  }

  /** The sender is gone: its staged rounds can never commit, so they stop blocking the queue. */
  dropSender(from: string): void {
    for (const entry of this.#queue.staged(from)) this.#queue.remove(entry);
    this.deliverReady();
  }

  /** Deliver every entry the delivery rule allows (§7 D1). */
  deliverReady(): void {
    const ctx = this.#ctx;
    for (let entry = this.#queue.takeReady(); entry; entry = this.#queue.takeReady()) {
      const { sender, seq, lamport, data } = entry;
      const ts = { lamport, peer: sender, seq };
      const event = `${sender}:${seq}`;
      const handles = data.handles.map((ref) => ctx.handleFor(ref.owner, ref.node));
      for (const id of data.nodes) {
        const owned = ctx.owned(id);
        if (!owned) continue;
        ctx.trace({
          peer: ctx.id,
          op: "deliver",
          event,
          kind: "message",
          node: owned.node.name,
          ts: [lamport, sender, seq],
          handles: handles.map((h) => h.name),
          dead: [],
        });
        ctx.deliver({ kind: "message", event, node: owned.node, payload: data.payload, handles, ts });
      }
    }
  }

  /** The owner-side check: the node exists and the sender holds a handle to it. */
  #refuse(from: string, nodes: readonly number[]): CoreErrorCode | undefined {
    for (const id of nodes) {
      const owned = this.#ctx.owned(id);
      if (!owned) return "E_NO_NODE";
      if (!owned.holders.has(from)) return "E_NO_HANDLE";
    }
    return undefined;
  }
}
