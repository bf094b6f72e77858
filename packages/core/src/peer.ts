/**
 * A peer: owns nodes, holds handles, has one incoming queue (spec/ordering.md). It reaches other
 * peers only through links, and orders every event with a staging/commit round, or the
 * receiver-committed fast path for plain unicasts and releases.
 */
import type { TraceRecord, TraceSink } from "@capbus/trace";
import { assertPayload, type Frame, type HandleRef } from "@capbus/wire";
import { Exports, formatCapabilityUrl, parseCapabilityUrl, SECRET_BYTES } from "./bootstrap.js";
import { CapbusError, type CoreErrorCode } from "./errors.js";
import type { DestinationResult, PeerEvent, SendResult } from "./events.js";
import { Handle, type HandleGrant, type HandleHost, Node, nodeName } from "./handles.js";
import { connectLink, type HandshakeContext } from "./handshake.js";
import type { Identity } from "./identity.js";
import { Inbound, type Reply } from "./inbound.js";
import type { Link, LinkClosedInfo } from "./link.js";
import { type Dial, Links } from "./links.js";
import { LoopbackLink } from "./loopback.js";
import { Mailbox } from "./mailbox.js";
import { Outbox, type OutDestination, type OutEvent, type OutKind } from "./outbox.js";
import { OwnedNode } from "./owner.js";
import { Requests } from "./requests.js";
import { type Runtime, systemRuntime } from "./runtime.js";
import { LinkSession, resolveSessionOptions, type SessionHandler, type SessionOptions } from "./session.js";
import { assertNoClockJump, LamportClock, type Timestamp } from "./timestamp.js";
import { deadHandles, liveNodes, referencesToGiveBack } from "./transfer.js";

export const PROTOCOL_VERSION = 1;

export interface PeerOptions {
  /** This peer's id (printable ASCII, at most 128 characters). @default 16 random hex digits */
  id?: string;
  /** Clock, timers and randomness. @default systemRuntime */
  runtime?: Runtime;
  /** Where trace records go; undefined: tracing is off and costs nothing. @default undefined */
  trace?: TraceSink | undefined;
  /**
   * This incarnation's key pair (`await Identity.generate()`); the id is then derived from it and
   * every link must prove both keys (spec/transports.md §2). @default undefined: unauthenticated
   */
  identity?: Identity | undefined;
  /** Defaults for the sessions of `connect` (timeouts, window, grace). @default {} */
  session?: SessionOptions;
  /**
   * Opens links to peers this peer must reach: the owner of a handle it received, the owner
   * named by a capability URL. Node's `@capbus/node` provides one for ws and Unix sockets.
   * @default undefined: only links made with `connect` exist
   */
  dial?: Dial | undefined;
  /** How long to wait for a dialled peer before its handles count as unreachable. @default 10000 */
  dialTimeoutMs?: number;
}

export interface SendOptions {
  /** Handles to carry; each receiver gets its own reference to the same node. @default [] */
  handles?: readonly Handle[];
  /** Aborts the send while its order is not yet decided. */
  signal?: AbortSignal;
}

/** The peer's side of one undecided event of its own. */
interface Pending {
  readonly event: OutEvent;
  readonly id: string;
  /** What goes in the fast-path frame (unicast payload, or release). */
  readonly fast?: FastBody;
  /** Handles a message carries, and the own nodes this peer counted references for. */
  readonly carried: readonly HandleRef[];
  readonly ownCounted: readonly number[];
  readonly decided: (event: OutEvent) => void;
  readonly dropped: (error: CapbusError) => void;
  readonly unlisten: () => void;
}

type FastBody =
  | { readonly type: "unicast"; readonly node: number; readonly payload: unknown }
  | { readonly type: "release"; readonly node: number; readonly count: number; readonly holder: string };

export class Peer implements AsyncIterable<PeerEvent> {
  readonly id: string;
  readonly #sink: TraceSink | undefined;
  readonly #clock = new LamportClock();
  readonly #inbound: Inbound;
  readonly #mailbox = new Mailbox<PeerEvent>();
  readonly #outbox: Outbox;
  readonly #links: Links;
  readonly #dialTimeoutMs: number;
  readonly #exports = new Exports();
  /** Capability URL claims this peer sent, by event number. */
  readonly #claims = new Map<
    number,
    { readonly remote: string; resolve: (node: number) => void; reject: (e: CapbusError) => void }
  >();
  /** Sends waiting for links to their owners, in call order (so none overtakes another). */
  #gate: Promise<unknown> | undefined;
  /** Destroys waiting, before their pick start, for holders' links: when they give up waiting. */
  readonly #holderWait = new Map<OutEvent, number>();
  readonly #runtime: Runtime;
  readonly #sessionDefaults: SessionOptions;
  readonly #handshake: HandshakeContext;
  readonly #hello = new WeakSet<LinkSession>();
  readonly #nodes = new Map<number, OwnedNode>();
  readonly #handles = new Map<string, Handle>();
  readonly #pending = new Map<number, Pending>();
  readonly #requests: Requests = new Requests({
    createNode: () => this.createNode(),
    send: (to, payload, options) => this.send(to, payload, options),
  });
  /** Destroys whose pick has started (spec §9 step 2). */
  readonly #picking = new WeakSet<OutEvent>();
  #nodeSeq = 0;
  #eventSeq = 0;
  #state: "open" | "closing" | "closed" = "open";
  #idle: Array<() => void> = [];
  readonly #host: HandleHost = {
    released: (handle, count) => this.#release(handle.owner, handle.nodeId, count, this.id),
  };

  constructor(options: PeerOptions = {}) {
    const runtime = options.runtime ?? systemRuntime;
    this.id = options.id ?? options.identity?.id ?? randomPeerId(runtime);
    if (options.identity && options.identity.id !== this.id) {
      throw new CapbusError("E_PROTOCOL", `peer id ${this.id} is not its key's (${options.identity.id})`);
    }
    this.#runtime = runtime;
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 10_000;
    this.#links = new Links({
      local: this.id,
      runtime,
      dial: options.dial,
      dialTimeoutMs: this.#dialTimeoutMs,
      up: () => this.#outbox?.advance(),
      unreachable: (remote) => this.#unreachable(remote),
    });
    this.#sessionDefaults = options.session ?? {};
    this.#handshake = {
      local: this.id,
      identity: options.identity,
      find: (remote) => this.#links.get(remote),
      create: (remote, opts) => {
        const session = new LinkSession(this.#handler, opts, remote);
        this.#links.register(session, remote);
        return session;
      },
    };
    this.#sink = options.trace;
    this.#outbox = new Outbox(this.#clock, {
      sendFast: (event) => this.#sendFast(event),
      ready: (event) => this.#ready(event),
      decided: (event) => this.#decided(event),
    });
    this.#inbound = new Inbound({
      id: this.id,
      clock: this.#clock,
      owned: (node) => this.#nodes.get(node),
      handle: (name) => this.#handles.get(name),
      acquire: (ref) => {
        const handle = this.#handleFor(ref.owner, ref.node);
        // An owner's handle to its own node is not counted (§5).
        if (ref.owner !== this.id) handle.acquire();
        return handle;
      },
      deadHandle: (ref) => {
        const handle = this.#handleFor(ref.owner, ref.node);
        handle.markDestroyed();
        return handle;
      },
      reach: (owner) => this.#links.reach(owner),
      giveBack: (ref) => {
        if (ref.owner !== this.id) this.#release(ref.owner, ref.node, 1, this.id, true);
      },
      trace: (record) => this.#trace(record),
      deliver: (event) => {
        const forApp = this.#requests.intercept(event);
        if (forApp) this.#mailbox.push(forApp);
        this.#wakeIdle();
      },
    });
    this.#trace({ peer: this.id, op: "start" });
    this.connect(new LoopbackLink(), this.id);
  }

  /** The Lamport clock: past every timestamp this peer has seen. */
  get clock(): number {
    return this.#clock.value;
  }

  /** Events delivered here and not yet read by the application. */
  get queued(): number {
    return this.#mailbox.size;
  }

  /** Peers this peer has a live link to (itself excluded). */
  get linkedPeers(): string[] {
    return this.#links.remotes();
  }

  createNode(): Node {
    this.#assertOpen();
    const node = new Node(this.id, ++this.#nodeSeq);
    this.#nodes.set(node.id, new OwnedNode(node));
    this.#handles.set(node.name, node.handle);
    return node;
  }

  /** Give `holder` one reference to `node`, outside any message (bootstrap). */
  grant(node: Node, holder: string): HandleGrant {
    const owned = this.#owned(node);
    if (owned.state !== "alive") throw new CapbusError("E_DESTROYED", `${node.name} is destroyed`);
    owned.acquire([holder]);
    return { owner: this.id, node: node.id, holder };
  }

  /** Take up a handle granted to this peer outside any message. */
  importHandle(grant: HandleGrant): Handle {
    if (grant.holder !== this.id) {
      throw new CapbusError("E_NO_HANDLE", `the grant is for ${grant.holder}, not ${this.id}`);
    }
    const handle = this.#handleFor(grant.owner, grant.node);
    if (grant.owner !== this.id) handle.acquire();
    this.#trace({ peer: this.id, op: "import", node: handle.name });
    return handle;
  }

  /**
   * Attach a link to another peer. `remote` is the peer expected at the other end (when this
   * end dialled); otherwise the remote's hello names it. The link's handshake decides whether
   * it starts a session or resumes the one held with that peer (spec/transports.md §3-4);
   * `options` apply to a session it starts.
   */
  connect(link: Link, remote?: string, options: SessionOptions = {}): void {
    const resolved = resolveSessionOptions({ ...this.#sessionDefaults, ...options }, this.#runtime);
    connectLink(link, this.#handshake, resolved, remote);
  }

  /** Send `payload` to one node (unicast) or several (multicast), in the global order. */
  send(to: Handle | readonly Handle[], payload: unknown, options: SendOptions = {}): Promise<SendResult> {
    try {
      this.#assertOpen();
      const targets = Array.isArray(to) ? to : [to as Handle];
      for (const handle of [...targets, ...(options.handles ?? [])]) this.#assertUsable(handle);
      const owners = new Set([...targets, ...(options.handles ?? [])].map((h) => h.owner));
      const missing = [...owners].filter((owner) => !this.#links.has(owner));
      if (missing.length === 0 && this.#gate === undefined) return this.#send(targets, payload, options);
      // An owner not linked yet (a dial in progress): wait for it, and let no later send overtake.
      const started = (this.#gate ?? Promise.resolve()).then(async () => {
        await Promise.all(missing.map((owner) => this.#links.session(owner)));
        this.#assertOpen();
        return { sent: this.#send(targets, payload, options) };
      });
      const gate = started.then(
        () => undefined,
        () => undefined,
      );
      this.#gate = gate;
      void gate.then(() => {
        if (this.#gate === gate) this.#gate = undefined;
      });
      return started.then(({ sent }) => sent);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Listen on `endpoint` too (a transport calls this): linked peers are told where to dial. */
  advertise(endpoint: string): void {
    this.#links.advertise(endpoint);
  }

  /** Where this peer listens, as advertised. */
  get endpoints(): readonly string[] {
    return this.#links.endpoints;
  }

  /**
   * Export a node as a capability URL (spec/bootstrap.md): whoever presents it gets a handle.
   * `endpoint` defaults to the first advertised one.
   */
  export(node: Node, options: { readonly endpoint?: string } = {}): string {
    const owned = this.#owned(node);
    if (owned.state !== "alive") throw new CapbusError("E_DESTROYED", `${node.name} is destroyed`);
    const endpoint = options.endpoint ?? this.#links.endpoints[0];
    if (endpoint === undefined)
      throw new CapbusError("E_NO_EXPORT", "no endpoint to name: advertise one first");
    const secret = new Uint8Array(SECRET_BYTES);
    this.#runtime.randomBytes(secret);
    this.#exports.add(secret, node.id);
    return formatCapabilityUrl(endpoint, this.id, secret);
  }

  /** Revoke a capability URL, or every URL of a node. Handles already given stay (as in bus1). */
  revoke(target: string | Node): number {
    return this.#exports.revoke(
      typeof target === "string" ? { secret: parseCapabilityUrl(target).secret } : { node: target.id },
    );
  }

  /** Obtain a handle from a capability URL: dial its owner if needed, and present the secret. */
  async import(url: string): Promise<Handle> {
    this.#assertOpen();
    const cap = parseCapabilityUrl(url);
    if (cap.peer === this.id) {
      const node = this.#exports.find(cap.secret);
      if (node === undefined) throw new CapbusError("E_NO_EXPORT", "no such export");
      return this.#owned(this.#nodes.get(node)?.node as Node).node.handle;
    }
    if (!this.#links.has(cap.peer)) this.#links.learn(cap.peer, [cap.endpoint]);
    const session = await this.#links.session(cap.peer);
    const event = ++this.#eventSeq;
    const node = await new Promise<number>((resolve, reject) => {
      this.#claims.set(event, { remote: cap.peer, resolve, reject });
      session.send({ type: "claim", event, secret: cap.secret });
    });
    const handle = this.#handleFor(cap.peer, node);
    handle.acquire();
    this.#trace({ peer: this.id, op: "import", node: handle.name });
    return handle;
  }

  /**
   * Send `payload` as a request to one node and resolve with the reply's payload. The receiver
   * answers with `event.reply(payload)`; the reply comes back as an ordered event, to a reply
   * node this peer keeps for all its requests.
   */
  request(to: Handle, payload: unknown, options: SendOptions = {}): Promise<unknown> {
    return this.#requests.request(to, payload, options);
  }

  /**
   * Destroy nodes of this peer in one event: the owner and every holder are told, in the order;
   * messages ordered after it are not delivered. Resolves with the destroy's final timestamp.
   */
  destroy(nodes: Node | readonly Node[]): Promise<Timestamp> {
    try {
      this.#assertOpen();
      return this.#destroy(Array.isArray(nodes) ? nodes : [nodes as Node]);
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

  /**
   * Graceful close (spec §12): destroy this peer's nodes and release its handles through the
   * ordered paths, wait until every event of its own is decided, then close the links.
   */
  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closing";
    const alive = [...this.#nodes.values()].filter((o) => o.state === "alive").map((o) => o.node);
    if (alive.length > 0) void this.#destroy(alive).catch(() => undefined);
    for (const handle of this.#handles.values()) {
      if (handle.owner !== this.id) while (handle.state === "live" && handle.references > 0) handle.release();
    }
    // Wait for this peer's own events to be decided, and those it sent itself delivered.
    while (!this.#quiet()) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#state = "closed";
    this.#requests.close();
    this.#trace({ peer: this.id, op: "close" });
    for (const session of this.#links.all()) session.close("OK", "peer closed");
    this.#mailbox.end();
  }

  /** Close now: undecided events fail with E_ABORTED and every link closes. */
  abort(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    for (const pending of [...this.#pending.values()]) {
      if (!pending.event.decided) this.#drop(pending, new CapbusError("E_ABORTED", "the peer was aborted"));
    }
    for (const session of this.#links.all()) session.close("E_ABORTED", "peer aborted");
    this.#mailbox.end();
    this.#wakeIdle();
  }

  // ---- sending -------------------------------------------------------------------------------

  #send(targets: readonly Handle[], payload: unknown, options: SendOptions): Promise<SendResult> {
    if (targets.length === 0) throw new CapbusError("E_NO_HANDLE", "send needs at least one destination");
    const carriedHandles = options.handles ?? [];
    for (const handle of [...targets, ...carriedHandles]) this.#assertUsable(handle);
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
      const dest = destinations.get(peer);
      if (dest) (dest.nodes as number[]).push(node);
      else destinations.set(peer, participant(peer, "deliver", [node]));
    }
    const carried = uniqueRefs(carriedHandles);
    // Owners of carried handles take part in the round (§11); this peer counts its own itself.
    for (const ref of carried) {
      if (ref.owner === this.id || destinations.get(ref.owner)?.role === "deliver") continue;
      const notice = destinations.get(ref.owner);
      if (notice) (notice.nodes as number[]).push(ref.node);
      else destinations.set(ref.owner, participant(ref.owner, "notice", [ref.node]));
    }
    for (const peer of destinations.keys()) {
      if (!this.#links.get(peer)) throw new CapbusError("E_NO_LINK", `no link to ${peer}`);
    }
    const receivers = [...destinations.values()].filter((d) => d.role === "deliver").map((d) => d.peer);
    const ownCounted: number[] = [];
    for (const ref of carried) {
      const owned = ref.owner === this.id ? this.#nodes.get(ref.node) : undefined;
      if (owned && (owned.state === "alive" || owned.state === "destroying")) {
        owned.acquire(receivers);
        ownCounted.push(ref.node);
      }
    }

    const fast = order.length === 1 && carried.length === 0;
    const { event, id } = this.#newEvent("message", fast, destinations);
    this.#trace({
      peer: this.id,
      op: "send",
      event: id,
      to: order.map((d) => d.peer),
      nodes: [...names],
      handles: carried.map((r) => nodeName(r.owner, r.node)),
    });

    return new Promise<SendResult>((resolve, reject) => {
      const onAbort = () => this.#abortSend(event.seq);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const target = order[0] as { peer: string; node: number };
      this.#pending.set(event.seq, {
        event,
        id,
        ...(fast ? { fast: { type: "unicast", node: target.node, payload } as const } : {}),
        carried,
        ownCounted,
        decided: (e) => resolve(this.#commitMessage(e, id, order, carried, ownCounted)),
        dropped: reject,
        unlisten: () => options.signal?.removeEventListener("abort", onAbort),
      });
      if (!fast) {
        for (const dest of destinations.values()) {
          const session = this.#links.get(dest.peer);
          for (const ref of carried)
            if (session && dest.role === "deliver") this.#links.hint(session, ref.owner);
          const base = { event: event.seq, clock: this.#clock.value, nodes: [...dest.nodes] };
          if (dest.role === "deliver")
            session?.send({ type: "stage", ...base, payload, handles: carried, receivers });
          else session?.send({ type: "notice", ...base, receivers });
        }
      }
      this.#outbox.add(event);
    });
  }

  /** The message's final is decided: commit where it is taken, give back unused references. */
  #commitMessage(
    event: OutEvent,
    id: string,
    order: ReadonlyArray<{ readonly peer: string; readonly node: number }>,
    carried: readonly HandleRef[],
    ownCounted: readonly number[],
  ): SendResult {
    const final = event.final;
    const ts = final === undefined ? undefined : { lamport: final, peer: this.id, seq: event.seq };
    const dead = ts
      ? deadHandles(event, carried, (n) => this.#nodes.get(n)?.destroyedBefore(ts) ?? true, this.id)
      : [];
    if (final !== undefined && !event.fast) {
      for (const dest of event.destinations.values()) {
        if (liveNodes(dest).length > 0) {
          this.#links.get(dest.peer)?.send({ type: "commit", event: event.seq, lamport: final, dead });
        }
      }
    }
    const counted = (owner: string, node: number) => {
      if (owner === this.id) return ownCounted.includes(node);
      const dest = event.destinations.get(owner);
      return dest?.state === "proposed" && !dest.dead.includes(node);
    };
    const gotIt = (peer: string) => final !== undefined && liveNodes(event.destinations.get(peer)).length > 0;
    const back = referencesToGiveBack(event, carried, counted, gotIt);
    if (back.length > 0) {
      // After this callback: the outbox is mid-decision, and these are new events of this peer.
      queueMicrotask(() => {
        for (const { ref, holder } of back) this.#release(ref.owner, ref.node, 1, holder);
      });
    }
    const destinations: DestinationResult[] = order.map(({ peer, node }) => {
      const dest = event.destinations.get(peer);
      const committed =
        final !== undefined && (event.fast ? dest?.state === "proposed" : liveNodes(dest).includes(node));
      const code = committed
        ? undefined
        : dest?.dead.includes(node)
          ? "E_DESTROYED"
          : (dest?.code ?? "E_LINK_CLOSED");
      return { node: nodeName(peer, node), committed, code };
    });
    return { event: id, ts, destinations, ok: destinations.every((d) => d.committed) };
  }

  #destroy(nodes: readonly Node[]): Promise<Timestamp> {
    if (nodes.length === 0) throw new CapbusError("E_NO_NODE", "destroy needs at least one node");
    const owned = nodes.map((node) => this.#owned(node));
    for (const o of owned) {
      if (o.state !== "alive") throw new CapbusError("E_DESTROYED", `${o.node.name} is already destroyed`);
    }
    if (new Set(owned).size !== owned.length) throw new CapbusError("E_DUPLICATE", "a node is named twice");
    for (const o of owned) o.state = "destroying";
    const ids = owned.map((o) => o.node.id);
    const destinations = new Map<string, OutDestination>([[this.id, participant(this.id, "deliver", ids)]]);
    const { event, id } = this.#newEvent("destroy", false, destinations);
    this.#trace({ peer: this.id, op: "destroy", event: id, nodes: owned.map((o) => o.node.name) });
    this.#stageDestroy(event, ids, this.#holdersOf(owned));
    return new Promise<Timestamp>((resolve, reject) => {
      this.#pending.set(event.seq, {
        event,
        id,
        carried: [],
        ownCounted: [],
        decided: (e) => resolve(this.#commitDestroy(e, owned)),
        dropped: reject,
        unlisten: () => undefined,
      });
      this.#outbox.add(event);
    });
  }

  /** Stage the destroy at holders that are not yet its destinations (and at this peer). */
  #stageDestroy(event: OutEvent, nodes: readonly number[], holders: Iterable<string>): boolean {
    let added = false;
    const self = event.destinations.get(this.id);
    for (const peer of [this.id, ...holders]) {
      if (peer !== this.id && (event.destinations.has(peer) || !this.#links.has(peer))) continue;
      if (peer !== this.id) event.destinations.set(peer, participant(peer, "deliver", [...nodes]));
      else if (self?.state !== "pending") continue;
      this.#links
        .get(peer)
        ?.send({ type: "destroy", event: event.seq, clock: this.#clock.value, nodes: [...nodes] });
      added = peer !== this.id || added;
    }
    return added;
  }

  /** Pick start of a destroy (§9 step 2): hold new frames, stage at holders added meanwhile. */
  #ready(event: OutEvent): boolean {
    if (event.kind !== "destroy" || this.#picking.has(event)) return true;
    if (!this.#holdersLinked(event)) return false;
    this.#picking.add(event);
    this.#holderWait.delete(event);
    const nodes = (event.destinations.get(this.id)?.nodes ?? []).map(
      (id) => this.#nodes.get(id) as OwnedNode,
    );
    for (const o of nodes) o.state = "picking";
    return !this.#stageDestroy(
      event,
      nodes.map((o) => o.node.id),
      this.#holdersOf(nodes),
    );
  }

  /**
   * Holders not linked yet (a transfer's receiver still dialling this owner) must be staged at
   * too: wait for their links, within the dial timeout, before the pick start (spec/bootstrap.md).
   */
  #holdersLinked(event: OutEvent): boolean {
    const ids = event.destinations.get(this.id)?.nodes ?? [];
    const holders = this.#holdersOf(ids.map((id) => this.#nodes.get(id) as OwnedNode));
    if (![...holders].some((h) => this.#links.awaited(h))) return true;
    let deadline = this.#holderWait.get(event);
    if (deadline === undefined) {
      deadline = this.#runtime.now() + this.#dialTimeoutMs;
      this.#holderWait.set(event, deadline);
      this.#runtime.setTimer(this.#dialTimeoutMs, () => this.#outbox.advance());
    }
    return this.#runtime.now() >= deadline;
  }

  #commitDestroy(event: OutEvent, owned: readonly OwnedNode[]): Timestamp {
    const ts = { lamport: event.final ?? this.#clock.value, peer: this.id, seq: event.seq };
    for (const o of owned) {
      o.state = "destroyed";
      o.destroyedAt = ts;
    }
    for (const dest of event.destinations.values()) {
      if (dest.state === "proposed") {
        this.#links.get(dest.peer)?.send({ type: "commit", event: event.seq, lamport: ts.lamport, dead: [] });
      }
    }
    this.#inbound.replayHeld();
    return ts;
  }

  /**
   * A release event (§10): `holder`'s `count` references to the owner's node go. `returned`: they
   * are references this peer never received (a give-back), not its own handle letting go.
   */
  #release(owner: string, node: number, count: number, holder: string, returned = holder !== this.id): void {
    if (this.#state === "closed" || !this.#links.has(owner)) return;
    const destinations = new Map([[owner, participant(owner, "deliver", [node])]]);
    const { event, id } = this.#newEvent("release", true, destinations);
    this.#trace({
      peer: this.id,
      op: "release",
      event: id,
      node: nodeName(owner, node),
      ...(returned ? { holder } : {}),
    });
    this.#pending.set(event.seq, {
      event,
      id,
      fast: { type: "release", node, count, holder },
      carried: [],
      ownCounted: [],
      decided: () => undefined,
      dropped: () => undefined,
      unlisten: () => undefined,
    });
    this.#outbox.add(event);
  }

  #newEvent(kind: OutKind, fast: boolean, destinations: Map<string, OutDestination>) {
    const seq = ++this.#eventSeq;
    const event: OutEvent = { seq, kind, fast, destinations, sent: !fast, decided: false, final: undefined };
    return { event, id: `${this.id}:${seq}` };
  }

  #sendFast(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    const [peer] = event.destinations.keys();
    if (!pending?.fast || peer === undefined) return;
    const session = this.#links.get(peer);
    if (!session) return this.#outbox.failed(event, peer, "E_LINK_CLOSED");
    session.send({ ...pending.fast, event: event.seq, clock: this.#clock.value });
  }

  #decided(event: OutEvent): void {
    const pending = this.#pending.get(event.seq);
    if (!pending) return;
    this.#pending.delete(event.seq);
    pending.unlisten();
    pending.decided(event);
    this.#wakeIdle();
  }

  #abortSend(seq: number): void {
    const pending = this.#pending.get(seq);
    // A fast unicast on the wire is committed by its receiver: too late to take back.
    if (!pending || pending.event.decided || (pending.event.fast && pending.event.sent)) return;
    this.#drop(pending, new CapbusError("E_ABORTED", "the send was aborted"));
  }

  /** Drop an undecided round: tell its participants, give back references, fail the caller. */
  #drop(pending: Pending, error: CapbusError): void {
    const { event } = pending;
    this.#pending.delete(event.seq);
    pending.unlisten();
    if (!event.fast) {
      for (const dest of event.destinations.values()) {
        if (dest.state !== "failed") this.#links.get(dest.peer)?.send({ type: "abort", event: event.seq });
      }
    }
    this.#trace({ peer: this.id, op: "abort", event: pending.id });
    this.#outbox.remove(event);
    if (this.#state !== "closed") {
      const counted = (owner: string, node: number) =>
        owner === this.id
          ? pending.ownCounted.includes(node)
          : event.destinations.get(owner)?.state === "proposed";
      for (const { ref, holder } of referencesToGiveBack(event, pending.carried, counted, () => false)) {
        this.#release(ref.owner, ref.node, 1, holder);
      }
    }
    pending.dropped(error);
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
    const reply: Reply = (answer) => session.send(answer);
    switch (frame.type) {
      case "stage":
        return this.#inbound.stage(from, frame, reply);
      case "notice":
        return this.#inbound.notice(from, frame, reply);
      case "unicast":
        return this.#inbound.unicast(from, frame, reply);
      case "release":
        return this.#inbound.release(from, frame, reply);
      case "destroy":
        return this.#inbound.destroy(from, frame, reply);
      case "commit":
        return this.#inbound.commit(from, frame.event, frame.lamport, frame.dead);
      case "abort":
        return this.#inbound.abort(from, frame.event);
      case "propose":
      case "dead":
        assertNoClockJump(this.#clock, frame.lamport);
        return this.#withEvent(frame.event, from, (e) =>
          this.#outbox.proposed(e, from, frame.lamport, frame.type === "dead" ? frame.nodes : []),
        );
      case "accept":
        assertNoClockJump(this.#clock, frame.lamport);
        return this.#withEvent(frame.event, from, (e) => this.#outbox.accepted(e, frame.lamport));
      case "reject":
        if (this.#claims.has(frame.event)) {
          this.#claims
            .get(frame.event)
            ?.reject(new CapbusError(rejectCode(frame.code), `claim refused: ${frame.code}`));
          this.#claims.delete(frame.event);
          return;
        }
        return this.#withEvent(frame.event, from, (e) =>
          this.#outbox.failed(e, from, rejectCode(frame.code)),
        );
      case "endpoints":
        return this.#links.learn(frame.peer, frame.urls);
      case "claim":
        return this.#onClaim(session, from, frame.event, frame.secret);
      case "granted": {
        const claim = this.#claims.get(frame.event);
        this.#claims.delete(frame.event);
        return claim?.resolve(frame.node);
      }
      case "ack":
        return;
    }
  }

  /** A capability URL's secret, presented by `from` (spec/bootstrap.md). */
  #onClaim(session: LinkSession, from: string, event: number, secret: Uint8Array): void {
    const id = this.#exports.find(secret);
    const owned = id === undefined ? undefined : this.#nodes.get(id);
    if (!owned) return session.send({ type: "reject", event, code: "E_NO_EXPORT" });
    if (owned.state !== "alive") return session.send({ type: "reject", event, code: "E_DESTROYED" });
    owned.acquire([from]);
    session.send({ type: "granted", event, node: owned.node.id });
  }

  /** `remote` was not reached in time: its nodes' handles held here count as destroyed (§9). */
  #unreachable(remote: string): void {
    for (const handle of this.#handles.values()) {
      if (handle.owner !== remote || handle.state !== "live") continue;
      handle.markDestroyed();
      const ts = { lamport: this.#clock.tick(), peer: remote, seq: 0 };
      const event = `unreachable:${remote}:${handle.nodeId}`;
      this.#trace({
        peer: this.id,
        op: "deliver",
        event,
        kind: "destroyed",
        node: handle.name,
        ts: [ts.lamport, ts.peer, ts.seq],
        handles: [],
        dead: [],
      });
      this.#mailbox.push({ kind: "destroyed", event, handle, ts, reason: "unreachable" });
    }
  }

  #onHello(session: LinkSession, remote: string): void {
    if (this.#hello.has(session)) throw new CapbusError("E_PROTOCOL", "a second hello");
    if (session.remote !== undefined && session.remote !== remote) {
      throw new CapbusError("E_PROTOCOL", `expected peer ${session.remote}, got ${remote}`);
    }
    if (session.remote === undefined) this.#links.register(session, remote);
    this.#hello.add(session);
  }

  #onClosed(session: LinkSession, _info: LinkClosedInfo): void {
    const remote = session.remote;
    if (!this.#links.remove(session) || remote === undefined) return;
    for (const [event, claim] of this.#claims) {
      if (claim.remote !== remote) continue;
      this.#claims.delete(event);
      claim.reject(
        new CapbusError("E_LINK_CLOSED", `link to ${remote} closed before the claim was answered`),
      );
    }
    this.#inbound.dropSender(remote);
    for (const pending of [...this.#pending.values()]) {
      if (pending.event.destinations.has(remote)) this.#outbox.failed(pending.event, remote, "E_LINK_CLOSED");
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  #withEvent(seq: number, from: string, fn: (event: OutEvent) => void): void {
    const pending = this.#pending.get(seq);
    // An answer for a round already dropped (aborted) is stale, not an error.
    if (!pending) return;
    if (!pending.event.destinations.has(from)) {
      throw new CapbusError("E_PROTOCOL", `${from} answered for event ${seq}, not sent to it`);
    }
    fn(pending.event);
  }

  /** Peers holding a reference to any of these nodes. */
  #holdersOf(nodes: readonly OwnedNode[]): Set<string> {
    const holders = new Set<string>();
    for (const o of nodes) for (const peer of o.references.keys()) holders.add(peer);
    return holders;
  }

  #owned(node: Node): OwnedNode {
    const owned = this.#nodes.get(node.id);
    if (!owned || owned.node !== node)
      throw new CapbusError("E_NO_NODE", `${node.name} is not a node of ${this.id}`);
    return owned;
  }

  #handleFor(owner: string, node: number): Handle {
    const name = nodeName(owner, node);
    let handle = this.#handles.get(name);
    if (!handle) {
      handle = new Handle(this.id, owner, node, this.#host);
      this.#handles.set(name, handle);
    }
    return handle;
  }

  /** The handle is this peer's, and neither released nor destroyed. */
  #assertUsable(handle: Handle): void {
    if (handle.holder !== this.id || this.#handles.get(handle.name) !== handle) {
      throw new CapbusError("E_NO_HANDLE", `${handle.name} is not a handle of ${this.id}`);
    }
    const own = handle.owner === this.id ? this.#nodes.get(handle.nodeId) : undefined;
    if (
      handle.state === "destroyed" ||
      (own !== undefined && own.state !== "alive" && own.state !== "destroying")
    ) {
      throw new CapbusError("E_DESTROYED", `${handle.name} is destroyed`);
    }
    if (handle.state === "released") throw new CapbusError("E_RELEASED", `${handle.name} was released`);
  }

  #assertOpen(): void {
    if (this.#state !== "open") throw new CapbusError("E_CLOSED", `peer ${this.id} is closed`);
  }

  #quiet(): boolean {
    return this.#outbox.pending === 0 && !this.#inbound.hasFrom(this.id);
  }

  #wakeIdle(): void {
    if (this.#idle.length === 0 || (!this.#quiet() && this.#state !== "closed")) return;
    for (const wake of this.#idle.splice(0)) wake();
  }

  #trace(record: TraceRecord): void {
    this.#sink?.write(record);
  }
}

function participant(peer: string, role: "deliver" | "notice", nodes: number[]): OutDestination {
  return { peer, role, nodes, state: "pending", proposal: 0, code: undefined, dead: [] };
}

function uniqueRefs(handles: readonly Handle[]): HandleRef[] {
  const seen = new Map<string, HandleRef>();
  for (const h of handles) if (!seen.has(h.name)) seen.set(h.name, { owner: h.owner, node: h.nodeId });
  return [...seen.values()];
}

const REMOTE_CODES: ReadonlySet<string> = new Set(["E_NO_NODE", "E_NO_HANDLE", "E_DESTROYED", "E_NO_EXPORT"]);

function rejectCode(code: string): CoreErrorCode {
  return REMOTE_CODES.has(code) ? (code as CoreErrorCode) : "E_PROTOCOL";
}

/** A fresh random peer id: 16 hex digits from the runtime's randomness. */
export function randomPeerId(runtime: Runtime): string {
  const bytes = new Uint8Array(8);
  runtime.randomBytes(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
