/**
 * A peer: owns nodes, holds handles, has one incoming queue (spec/model.md). It reaches other
 * peers only through links, and orders every event with a staging/commit round
 * (spec/ordering.md), or the receiver-committed fast path for plain unicasts.
 */

import type { TraceRecord, TraceSink } from "@capbus/trace";
import { assertPayload, type Frame } from "@capbus/wire";
import { CapbusError, type CoreErrorCode } from "./errors.js";
import type { DestinationResult, PeerEvent, SendResult } from "./events.js";
import { Handle, type HandleGrant, Node, nodeName } from "./handles.js";
import { Inbound, type OwnedNode } from "./inbound.js";
import type { Link, LinkClosedInfo } from "./link.js";
import { LoopbackLink } from "./loopback.js";
import { Mailbox } from "./mailbox.js";
import { Outbox, type OutDestination, type OutEvent } from "./outbox.js";
import { type Runtime, systemRuntime } from "./runtime.js";
import { LinkSession, type SessionHandler } from "./session.js";
import { assertNoClockJump, LamportClock } from "./timestamp.js";

export const PROTOCOL_VERSION = 1;

export interface PeerOptions {
  /** This peer's id (ASCII, at most 128 characters). @default 16 random hex digits */
  id?: string;
  /** Clock, timers and randomness. @default systemRuntime */
  runtime?: Runtime;
  /** Where trace records go; undefined: tracing is off and costs nothing. @default undefined */
  trace?: TraceSink | undefined;
}

export interface SendOptions {
  /** Handles to carry; each receiver gets its own handle to the same node. @default [] */
  handles?: readonly Handle[];
  /** Aborts the send while its order is not yet decided. */
  signal?: AbortSignal;
}

/** The caller's side of an undecided event. */
interface PendingSend {
  readonly event: OutEvent;
  readonly id: string;
  /** Destinations in the order the caller gave them. */
  readonly order: ReadonlyArray<{ readonly peer: string; readonly node: number }>;
  readonly payload: unknown;
  readonly handles: readonly Handle[];
  readonly resolve: (result: SendResult) => void;
  readonly reject: (error: CapbusError) => void;
  readonly unlisten: () => void;
}

export class Peer implements AsyncIterable<PeerEvent> {
  readonly id: string;
  readonly #sink: TraceSink | undefined;
  readonly #clock = new LamportClock();
  readonly #inbound: Inbound;
  readonly #mailbox = new Mailbox<PeerEvent>();
  readonly #outbox: Outbox;
  readonly #sessions = new Map<string, LinkSession>();
  readonly #hello = new WeakSet<LinkSession>();
  readonly #nodes = new Map<number, OwnedNode>();
  readonly #handles = new Map<string, Handle>();
  readonly #pending = new Map<number, PendingSend>();
  #nodeSeq = 0;
  #eventSeq = 0;
  #state: "open" | "closing" | "closed" = "open";
  #idle: Array<() => void> = [];

  constructor(options: PeerOptions = {}) {
    const runtime = options.runtime ?? systemRuntime;
    this.id = options.id ?? randomPeerId(runtime);
    this.#sink = options.trace;
    this.#outbox = new Outbox(this.#clock, {
      sendFast: (event) => this.#sendFast(event),
      decided: (event) => this.#decided(event),
    });
    this.#inbound = new Inbound({
      id: this.id,
      clock: this.#clock,
      owned: (node) => this.#nodes.get(node),
      handleFor: (owner, node) => this.#handleFor(owner, node),
      trace: (record) => this.#trace(record),
      deliver: (event) => this.#mailbox.push(event),
    });
    this.#trace({ peer: this.id, op: "start" });
    this.connect(new LoopbackLink(), this.id);
  }

  /** The Lamport clock: past every timestamp this peer has seen. */
  get clock(): number {
    return this.#clock.value;
  }

  /** Events committed here and not yet read by the application. */
  get queued(): number {
    return this.#mailbox.size;
  }

  /** Peers this peer has a live link to (itself excluded). */
  get linkedPeers(): string[] {
    return [...this.#sessions.keys()].filter((id) => id !== this.id);
  }

  createNode(): Node {
    this.#assertOpen();
    const node = new Node(this.id, ++this.#nodeSeq);
    this.#nodes.set(node.id, { node, holders: new Set([this.id]) });
    this.#handles.set(node.name, node.handle);
    return node;
  }

  /** Allow `holder` to send to `node`, outside any message (bootstrap). */
  grant(node: Node, holder: string): HandleGrant {
    const owned = this.#nodes.get(node.id);
    if (!owned || owned.node !== node)
      throw new CapbusError("E_NO_NODE", `${node.name} is not a node of ${this.id}`);
    owned.holders.add(holder);
    return { owner: this.id, node: node.id, holder };
  }

  /** Take up a handle granted to this peer outside any message. */
  importHandle(grant: HandleGrant): Handle {
    if (grant.holder !== this.id) {
      throw new CapbusError("E_NO_HANDLE", `the grant is for ${grant.holder}, not ${this.id}`);
    }
    const handle = this.#handleFor(grant.owner, grant.node);
    this.#trace({ peer: this.id, op: "import", node: handle.name });
    return handle;
  }

  /**
   * Attach a link to another peer. `remote` is the peer expected at the other end (when this
   * end dialled); otherwise the remote's hello names it.
   */
  connect(link: Link, remote?: string): void {
    const session = new LinkSession(link, this.#handler, remote);
    if (remote !== undefined) this.#register(session, remote);
    session.send({ type: "hello", versions: [PROTOCOL_VERSION], peer: this.id });
  }

  /** Send `payload` to one node (unicast) or several (multicast), in the global order. */
  send(to: Handle | readonly Handle[], payload: unknown, options: SendOptions = {}): Promise<SendResult> {
    try {
      return this.#send(Array.isArray(to) ? to : [to as Handle], payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The next delivered event; resolves with undefined once the peer is closed and drained. */
  async receive(): Promise<PeerEvent | undefined> {
    return (await this.#mailbox.next()).value;
  }

  /** The next delivered event if one is waiting, without waiting. */
  poll(): PeerEvent | undefined {
    return this.#mailbox.poll();
  }

  [Symbol.asyncIterator](): AsyncIterator<PeerEvent, undefined> {
    return this.#mailbox[Symbol.asyncIterator]();
  }

  /** Graceful close: no new sends, wait until every event sent is decided, then close the links. */
  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closing";
    while (this.#outbox.pending > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#state = "closed";
    this.#trace({ peer: this.id, op: "close" });
    for (const session of [...this.#sessions.values()]) session.close("OK", "peer closed");
    this.#mailbox.end();
  }

  /** Close now: undecided sends fail with E_ABORTED and every link closes. */
  abort(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    for (const pending of [...this.#pending.values()]) {
      if (!pending.event.decided) this.#drop(pending, "E_ABORTED", "the peer was aborted");
    }
    for (const session of [...this.#sessions.values()]) session.close("E_ABORTED", "peer aborted");
    this.#mailbox.end();
    this.#wakeIdle();
  }

  // ---- sending -------------------------------------------------------------------------------

  #send(targets: readonly Handle[], payload: unknown, options: SendOptions): Promise<SendResult> {
    this.#assertOpen();
    if (targets.length === 0) throw new CapbusError("E_NO_HANDLE", "send needs at least one destination");
    const carried = options.handles ?? [];
    for (const handle of [...targets, ...carried]) this.#assertHeld(handle);
    for (const handle of carried) {
      // Third-party transfer is ordered against destruction by the owner (spec/ordering.md §Transfer).
      if (handle.owner !== this.id) {
        throw new CapbusError(
          "E_NO_HANDLE",
          `passing on ${handle.name}, a third peer's node, is not built yet`,
        );
      }
    }
    if (options.signal?.aborted) {
      throw new CapbusError("E_ABORTED", "the send was aborted", { cause: options.signal.reason });
    }
    assertPayload(payload);

    const order = targets.map((h) => ({ peer: h.owner, node: h.nodeId }));
    const destinations = new Map<string, OutDestination>();
    const names = new Set<string>();
    for (const { peer, node } of order) {
      const name = nodeName(peer, node);
      if (names.has(name)) throw new CapbusError("E_DUPLICATE", `${name} is named twice`);
      names.add(name);
      if (!this.#sessions.get(peer))
        throw new CapbusError("E_NO_LINK", `no link to ${peer}, owner of ${name}`);
      const dest = destinations.get(peer);
      if (dest) (dest.nodes as number[]).push(node);
      else destinations.set(peer, { peer, nodes: [node], state: "pending", proposal: 0, code: undefined });
    }

    const seq = ++this.#eventSeq;
    const id = `${this.id}:${seq}`;
    const fast = order.length === 1 && carried.length === 0;
    const event: OutEvent = { seq, fast, destinations, sent: !fast, decided: false, final: undefined };
    this.#trace({
      peer: this.id,
      op: "send",
      event: id,
      to: order.map((d) => d.peer),
      nodes: [...names],
      handles: carried.map((h) => h.name),
    });

    return new Promise<SendResult>((resolve, reject) => {
      const onAbort = () => this.#abortSend(seq);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const unlisten = () => options.signal?.removeEventListener("abort", onAbort);
      this.#pending.set(seq, { event, id, order, payload, handles: carried, resolve, reject, unlisten });
      if (!fast) {
        const handles = carried.map((h) => ({ owner: h.owner, node: h.nodeId }));
        for (const dest of destinations.values()) {
          this.#sessions.get(dest.peer)?.send({
            type: "stage",
            event: seq,
            clock: this.#clock.value,
            nodes: [...dest.nodes],
            payload,
            handles,
          });
        }
      }
      this.#outbox.add(event);
    });
  }

  #sendFast(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    const target = pending?.order[0];
    if (!pending || !target) return;
    const session = this.#sessions.get(target.peer);
    if (!session) return this.#outbox.failed(event, target.peer, "E_LINK_CLOSED");
    session.send({
      type: "unicast",
      event: event.seq,
      clock: this.#clock.value,
      node: target.node,
      payload: pending.payload,
    });
  }

  #decided(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    if (!pending) return;
    this.#pending.delete(event.seq);
    pending.unlisten();
    const final = event.final;
    if (final !== undefined && !event.fast) {
      for (const dest of event.destinations.values()) {
        if (dest.state !== "proposed") continue;
        // The owner learns its new holders before any commit leaves, so they can use the handle
        // as soon as they deliver it.
        for (const handle of pending.handles) this.#nodes.get(handle.nodeId)?.holders.add(dest.peer);
        this.#sessions.get(dest.peer)?.send({ type: "commit", event: event.seq, lamport: final });
      }
    }
    const destinations: DestinationResult[] = pending.order.map(({ peer, node }) => {
      const dest = event.destinations.get(peer);
      const committed = final !== undefined && dest?.state === "proposed";
      return {
        node: nodeName(peer, node),
        committed,
        code: committed ? undefined : (dest?.code ?? "E_LINK_CLOSED"),
      };
    });
    pending.resolve({
      event: pending.id,
      ts: final === undefined ? undefined : { lamport: final, peer: this.id, seq: event.seq },
      destinations,
      ok: destinations.every((d) => d.committed),
    });
    this.#wakeIdle();
  }

  #abortSend(seq: number): void {
    const pending = this.#pending.get(seq);
    // A fast unicast on the wire is committed by its receiver: too late to take back.
    if (!pending || pending.event.decided || (pending.event.fast && pending.event.sent)) return;
    this.#drop(pending, "E_ABORTED", "the send was aborted");
  }

  /** Drop an undecided round: tell the destinations, trace it, fail the caller. */
  #drop(pending: PendingSend, code: CoreErrorCode, message: string): void {
    this.#pending.delete(pending.event.seq);
    pending.unlisten();
    if (!pending.event.fast) {
      for (const dest of pending.event.destinations.values()) {
        if (dest.state !== "failed")
          this.#sessions.get(dest.peer)?.send({ type: "abort", event: pending.event.seq });
      }
    }
    this.#trace({ peer: this.id, op: "abort", event: pending.id });
    this.#outbox.remove(pending.event);
    pending.reject(new CapbusError(code, message));
    this.#wakeIdle();
  }

  // ---- receiving -----------------------------------------------------------------------------

  readonly #handler: SessionHandler = {
    frame: (session, frame) => this.#onFrame(session, frame),
    closed: (session, info) => this.#onClosed(session, info),
  };

  #onFrame(session: LinkSession, frame: Frame): void {
    if (frame.type === "hello") return this.#onHello(session, frame.peer);
    const from = session.remote;
    if (from === undefined || !this.#hello.has(session)) {
      throw new CapbusError("E_PROTOCOL", `${frame.type} before hello`);
    }
    switch (frame.type) {
      case "stage":
        return session.send(this.#inbound.stage(from, frame));
      case "unicast":
        return session.send(this.#inbound.unicast(from, frame));
      case "commit":
        return this.#inbound.commit(from, frame.event, frame.lamport);
      case "abort":
        return this.#inbound.abort(from, frame.event);
      case "propose":
        assertNoClockJump(this.#clock, frame.lamport);
        return this.#withEvent(frame.event, from, (e) => this.#outbox.proposed(e, from, frame.lamport));
      case "accept":
        assertNoClockJump(this.#clock, frame.lamport);
        return this.#withEvent(frame.event, from, (e) => this.#outbox.accepted(e, frame.lamport));
      case "reject":
        return this.#withEvent(frame.event, from, (e) =>
          this.#outbox.failed(e, from, rejectCode(frame.code)),
        );
      case "ack":
        return;
    }
  }

  #onHello(session: LinkSession, remote: string): void {
    if (this.#hello.has(session)) throw new CapbusError("E_PROTOCOL", "a second hello");
    if (session.remote !== undefined && session.remote !== remote) {
      throw new CapbusError("E_PROTOCOL", `expected peer ${session.remote}, got ${remote}`);
    }
    if (session.remote === undefined) this.#register(session, remote);
    this.#hello.add(session);
  }

  #onClosed(session: LinkSession, _info: LinkClosedInfo): void {
    const remote = session.remote;
    if (remote === undefined || this.#sessions.get(remote) !== session) return;
    this.#sessions.delete(remote);
    this.#inbound.dropSender(remote);
    for (const pending of [...this.#pending.values()]) {
      if (pending.event.destinations.has(remote)) this.#outbox.failed(pending.event, remote, "E_LINK_CLOSED");
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  #register(session: LinkSession, remote: string): void {
    const existing = this.#sessions.get(remote);
    if (existing && !existing.closed) {
      session.close("E_PROTOCOL", `already linked to ${remote}`);
      return;
    }
    session.remote = remote;
    this.#sessions.set(remote, session);
  }

  #withEvent(seq: number, from: string, fn: (event: OutEvent) => void): void {
    const pending = this.#pending.get(seq);
    // An answer for a round already dropped (aborted) is stale, not an error.
    if (!pending) return;
    if (!pending.event.destinations.has(from)) {
      throw new CapbusError("E_PROTOCOL", `${from} answered for event ${seq}, not sent to it`);
    }
    fn(pending.event);
  }

  #handleFor(owner: string, node: number): Handle {
    const name = nodeName(owner, node);
    let handle = this.#handles.get(name);
    if (!handle) {
      handle = new Handle(this.id, owner, node);
      this.#handles.set(name, handle);
    }
    return handle;
  }

  #assertHeld(handle: Handle): void {
    if (handle.holder !== this.id || this.#handles.get(handle.name) !== handle) {
      throw new CapbusError("E_NO_HANDLE", `${handle.name} is not a handle of ${this.id}`);
    }
  }

  #assertOpen(): void {
    if (this.#state !== "open") throw new CapbusError("E_CLOSED", `peer ${this.id} is closed`);
  }

  #wakeIdle(): void {
    if (this.#outbox.pending > 0) return;
    for (const wake of this.#idle.splice(0)) wake();
  }

  #trace(record: TraceRecord): void {
    this.#sink?.write(record);
  }
}

function rejectCode(code: string): CoreErrorCode {
  return code === "E_NO_NODE" || code === "E_NO_HANDLE" ? code : "E_PROTOCOL";
}

/** A fresh random peer id: 16 hex digits from the runtime's randomness. */
export function randomPeerId(runtime: Runtime): string {
  const bytes = new Uint8Array(8);
  runtime.randomBytes(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
