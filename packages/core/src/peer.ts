/**
 * A peer: owns nodes, holds handles, has one incoming queue (spec/ordering.md). It reaches other
 * peers only through links, and orders every event with a staging/commit round, or the
 * receiver-committed fast path for plain unicasts and releases.
 */
import type { TraceRecord, TraceSink } from "@capbus/trace";
import type { Frame } from "@capbus/wire";
import { Capabilities, parseCapabilityUrl } from "./bootstrap.js";
import { ClockGate } from "./clock-gate.js";
import { CapbusError } from "./errors.js";
import type { PeerEvent, SendResult } from "./events.js";
import { HandleTable } from "./handle-table.js";
import { Handle, type HandleGrant, type HandleHost, Node, nodeName } from "./handles.js";
import { connectLink, type HandshakeContext, RunningHandshakes } from "./handshake.js";
import { HeldAnswers } from "./held-answers.js";
import type { Identity } from "./identity.js";
import { Inbound } from "./inbound.js";
import type { Link, LinkClosedInfo } from "./link.js";
import { type Dial, Links } from "./links.js";
import { LoopbackLink } from "./loopback.js";
import { lossNotices } from "./losses.js";
import { Mailbox } from "./mailbox.js";
import { guardLogger, type LinkStats, type Logger, type PeerStats } from "./observe.js";
import { OwnedNode } from "./owner.js";
import { Quota, type QuotaLimits } from "./quota.js";
import { MAX_RETAINED_FINALS, Reconciler } from "./reconcile.js";
import { Requests } from "./requests.js";
import { type RouteTargets, routeFrame } from "./router.js";
import { type Runtime, systemRuntime } from "./runtime.js";
import { Sender, unlessAborted } from "./sender.js";
import { LinkSession, resolveSessionOptions, type SessionHandler, type SessionOptions } from "./session.js";
import { DEFAULT_GRACE_MS, type LinkTimeouts, resolveTimeouts, type Timeouts } from "./timeouts.js";
import { HybridClock, type Timestamp } from "./timestamp.js";
import { traceName, traceSummaryLimit } from "./trace-extras.js";

/** The version of the ordering protocol this peer speaks; the same number as the wire's WIRE_VERSION. */
export const PROTOCOL_VERSION = 2;

/** Options of a Peer; each has a documented default. */
export interface PeerOptions {
  /** This peer's id (printable ASCII, at most 128 characters). @default 16 random hex digits */
  id?: string;
  /** Clock, timers and randomness. @default systemRuntime */
  runtime?: Runtime;
  /** Where trace records go; undefined: tracing is off and costs nothing. @default undefined */
  trace?: TraceSink | undefined;
  /**
   * A name for people, written in the trace's `start` record: diagrams label the peer's lane with
   * it. Not an identity (spec/trace.md §3). @default undefined
   */
  name?: string | undefined;
  /**
   * With tracing on, each `send` record carries the payload as compact JSON cut to this many
   * characters (1 to 1024), shown on hover in diagrams. It copies application data into trace
   * files (spec/trace.md §3.2). @default undefined: no summary
   */
  traceSummary?: number | undefined;
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
  /**
   * How long to wait for a dialled peer before its handles count as unreachable; a destroy waits
   * as long for holders never linked. @default 10000, or less to fit an explicit stageTimeoutMs
   * (spec/limits.md §3.1)
   */
  dialTimeoutMs?: number;
  /** How much of this peer's queue other peers may fill (spec/limits.md §4). @default {} */
  quota?: QuotaLimits;
  /**
   * Links (sessions) this peer keeps at most. A new one beyond it displaces the session detached
   * longest ago (which expires); with none detached it is refused with E_LINK_QUOTA. @default 1024
   */
  maxLinks?: number;
  /**
   * Handles this peer holds at most (one per node); a message that would bring more is refused
   * with E_QUOTA, and so is an import. @default 1000000
   */
  maxHandles?: number;
  /**
   * How long an event may stay staged here before its sender counts as stuck, and the stall
   * budget of each sender across its chained entries (`stallMs`): past either, its session ends
   * with E_STAGE_TIMEOUT and the crash rules apply (spec/guarantees.md §4.5). It must outlast what
   * a healthy sender may wait for in one round (rule T2 of spec/limits.md §3.1: at least 1.25 ×
   * (max(dialTimeoutMs, answerTimeoutMs) + 0.8 × answerTimeoutMs)); a smaller one is refused with
   * E_OPTIONS.
   * @default max(wait + 15000, 1.25 × wait) for that wait (135000 with the other defaults)
   */
  stageTimeoutMs?: number;
  /**
   * How long this peer waits for a participant's answer (propose, accept, reject) to a frame of
   * its own events before it closes that participant's session with E_ANSWER_TIMEOUT, so that
   * the event decides without it and this peer's later events are not held back for good
   * (spec/guarantees.md §4.6). At least 1.25 × (the links' deadAfterMs + graceMs) (rule T6).
   * @default max(deadAfterMs + graceMs + 15000, 1.25 × (deadAfterMs + graceMs)) (60000 with the
   * other defaults)
   */
  answerTimeoutMs?: number;
  /**
   * A sender's entry staged here longer than this counts against the sender's stall budget: a
   * sender whose entries stall this queue for stageTimeoutMs in all (the count falls back while
   * none does) is cut off with E_STAGE_TIMEOUT (spec/guarantees.md §4.5, rule T7).
   * @default 5000, or a quarter of a smaller stageTimeoutMs
   */
  stallMs?: number;
  /**
   * How far (ms) a received timestamp may be ahead of this host's wall clock and still apply at
   * once; one further ahead waits, with the rest of its link's frames, until the wall clock
   * catches up (spec/ordering.md §2 H2). @default 5000
   */
  clockAdoptMs?: number;
  /**
   * How far (ms) a received timestamp may be ahead of this host's wall clock at all: one further
   * ahead closes the link with E_CLOCK_SKEW, and so does a hello whose wall clock differs by more
   * than clockRefuseMs - clockAdoptMs - 1. At most clockAdoptMs + min(stageTimeoutMs,
   * answerTimeoutMs) / 2 (rule T8 of spec/limits.md §3.1).
   * @default clockAdoptMs + 30000, or less to fit the stage and answer timeouts
   */
  clockRefuseMs?: number;
  /**
   * The dead-link time and grace of the links this peer gets from transports (their
   * `deadAfterMs` and `graceMs`), which `stageTimeoutMs` must outlast; `startPeer` fills it in.
   * Links that report a break at once and cannot resume (simulated, in-memory): both 0.
   * @default { deadAfterMs: 15000, graceMs: 30000 }: the transports' defaults
   */
  linkTimeouts?: LinkTimeouts;
  /**
   * When a batch of this peer's events is sealed (spec/ordering.md §14, spec/limits.md §5): at
   * `maxEvents` events or about `maxBytes` bytes of payload. Batches close at the end of the
   * event-loop turn anyway; `maxEvents: 1` sends every event in frames of its own.
   * @default { maxEvents: 64, maxBytes: 65536 }
   */
  batch?: { readonly maxEvents?: number; readonly maxBytes?: number };
  /**
   * Where lifecycle events are reported: sessions up, resumed, detached, expired, closed (with
   * their code), handshake failures, crossed dials, unreachable peers, stage timeouts, quota
   * refusals (Logger lists the levels). Levels left out are silent and cost nothing.
   * @default undefined: the peer writes nothing, not even warnings
   */
  logger?: Logger | undefined;
}

/** Options of one send. */
export interface SendOptions {
  /** Handles to carry; each receiver gets its own reference to the same node. @default [] */
  handles?: readonly Handle[];
  /**
   * Aborts the send while its order is not yet decided (also while it waits for a dial): it then
   * rejects with E_ABORTED, the signal's reason as `cause`. `AbortSignal.timeout(ms)` bounds a
   * send. A send given a signal is a round, never a fast unicast (which could not be taken back).
   * @default undefined: the send waits as long as the failure rules take (spec/guarantees.md §4)
   */
  signal?: AbortSignal;
}

/**
 * A capbus peer: owns nodes, holds handles, sends, and delivers events in the global order. Give it links
 * (or a dialler); @capbus/node's `startPeer` wires sockets.
 */
export class Peer implements AsyncIterable<PeerEvent> {
  /** This peer's id (from its identity's public key, when it has one). */
  readonly id: string;
  readonly #sink: TraceSink | undefined;
  readonly #clock: HybridClock;
  /** Rule H2 at frame arrival: per-link hold queues for values ahead of the wall clock. */
  readonly #clockGate: ClockGate;
  readonly #inbound: Inbound;
  /** Multicasts whose sender's session ended while staged here (spec/ordering.md §16). */
  readonly #reconciler: Reconciler;
  /** The key each session's remote proved in its handshake (empty: unkeyed), kept past its end. */
  readonly #keys = new WeakMap<LinkSession, Uint8Array>();
  readonly #quota: Quota;
  readonly #maxHandles: number;
  /**
   * Delivered events; each message stays charged to its sender's quota (its size, kept beside it
   * in the mailbox rather than in a map per event) until the application reads it.
   */
  readonly #mailbox = new Mailbox<PeerEvent>((event, charge) => {
    if (charge > 0) this.#quota.discharge(event.ts.peer, charge);
  });
  readonly #sender: Sender;
  /** Accepts and proposals held to the end of the turn (spec/ordering.md §14, B7). */
  readonly #answers: HeldAnswers;
  readonly #links: Links;
  readonly #dialTimeoutMs: number;
  readonly #timeouts: Timeouts;
  readonly #capabilities: Capabilities;
  /** Where each session frame goes (router.ts). */
  readonly #routes: RouteTargets;
  /** Sends waiting for links to their owners, in call order (so none overtakes another). */
  #gate: Promise<unknown> | undefined;
  readonly #runtime: Runtime;
  readonly #sessionDefaults: SessionOptions;
  readonly #handshake: HandshakeContext;
  readonly #hello = new WeakSet<LinkSession>();
  readonly #nodes = new Map<number, OwnedNode>();
  /** Handles in use (live ones; own nodes' too), by owner and node: released and destroyed ones leave. */
  readonly #handles = new HandleTable();
  /** Handles in #handles per owner other than this peer: a linked owner's endpoints are kept while > 0. */
  readonly #byOwner = new Map<string, number>();
  readonly #requests: Requests = new Requests({
    createNode: () => this.createNode(),
    send: (to, payload, options) => this.send(to, payload, options),
    sendBare: (to, payload, settle, fail) => {
      // Peer.send's fast path, without its promise; false where send would take another path.
      this.#assertOpen();
      this.#assertUsable(to);
      if (this.#gate !== undefined || !this.#links.has(to.owner)) return false;
      this.#sender.sendUnicastThen(to, payload, settle, fail);
      return true;
    },
    holds: (node, peer) => (this.#nodes.get(node.id)?.references.get(peer) ?? 0) > 0,
  });
  #nodeSeq = 0;
  #state: "open" | "closing" | "closed" = "open";
  #traceClosed = false;
  #idle: Array<() => void> = [];
  readonly #log: Logger;
  /** Counters for stats(): integer increments only. */
  #delivered = 0;
  #quotaRefusals = 0;
  #stageTimeouts = 0;
  #answerTimeouts = 0;
  readonly #host: HandleHost = {
    released: (handle, count) => this.#sender.release(handle.owner, handle.nodeId, count, this.id),
    gone: (handle) => this.#untable(handle),
  };

  constructor(options: PeerOptions = {}) {
    const runtime = options.runtime ?? systemRuntime;
    this.id = options.id ?? options.identity?.id ?? randomPeerId(runtime);
    if (options.identity && options.identity.id !== this.id) {
      throw new CapbusError("E_PROTOCOL", `peer id ${this.id} is not its key's (${options.identity.id})`);
    }
    this.#runtime = runtime;
    this.#log = guardLogger(options.logger);
    const links = options.linkTimeouts ?? {};
    this.#timeouts = resolveTimeouts({
      dialTimeoutMs: options.dialTimeoutMs,
      stageTimeoutMs: options.stageTimeoutMs,
      answerTimeoutMs: options.answerTimeoutMs,
      stallMs: options.stallMs,
      handshakeTimeoutMs: options.session?.handshakeTimeoutMs,
      clockAdoptMs: options.clockAdoptMs,
      clockRefuseMs: options.clockRefuseMs,
      // The stage timeout must outlast the longest grace: of transport links, or of connect's.
      links: {
        ...links,
        graceMs: Math.max(links.graceMs ?? DEFAULT_GRACE_MS, options.session?.graceMs ?? 0),
      },
    });
    this.#dialTimeoutMs = this.#timeouts.dialTimeoutMs;
    this.#clock = new HybridClock(() => runtime.wallNow?.() ?? runtime.now(), this.#timeouts);
    this.#clockGate = new ClockGate({
      clock: this.#clock,
      setTimer: (ms, fn) => runtime.setTimer(ms, fn),
      process: (session, frame, size) => this.#process(session, frame, size),
    });
    this.#quota = new Quota(options.quota);
    this.#capabilities = new Capabilities({
      id: this.id,
      randomBytes: (bytes) => runtime.randomBytes(bytes),
      alive: (node) => {
        const owned = this.#nodes.get(node);
        return owned?.state === "alive" ? owned : undefined;
      },
      exists: (node) => this.#nodes.has(node),
    });
    this.#maxHandles = options.maxHandles ?? 1_000_000;
    this.#links = new Links({
      local: this.id,
      runtime,
      dial: options.dial,
      dialTimeoutMs: this.#dialTimeoutMs,
      maxLinks: options.maxLinks ?? 1024,
      refers: (owner) => this.#byOwner.has(owner),
      up: (remote) => {
        // A handshake that began before close: end its session, which starts nothing now.
        if (this.#state === "closed") return this.#links.get(remote)?.close("E_CLOSED", "peer closed");
        // A new session (not a resume): after an expiry, the checker's sign the two are in touch again.
        if (remote !== this.id) {
          this.#trace({ peer: this.id, op: "link", other: remote });
          this.#quota.join(remote); // a reserved share of the queue, in the order sessions start
        }
        this.#inbound?.newSession(remote);
        this.#sender?.advance();
      },
      unreachable: (remote, code) => {
        if (this.#state === "closed") return;
        this.#log.info?.("peer unreachable", {
          remote,
          code,
          dialTimeoutMs: this.#dialTimeoutMs,
        });
        this.#lose(remote, "unreachable", code);
      },
    });
    this.#sessionDefaults = { ...options.session, handshakeTimeoutMs: this.#timeouts.handshakeTimeoutMs };
    this.#handshake = {
      local: this.id,
      identity: options.identity,
      find: (remote) => this.#links.get(remote),
      create: (remote, opts) => {
        const session = new LinkSession(this.#handler, opts, remote);
        this.#links.register(session, remote);
        return session;
      },
      running: new RunningHandshakes(),
      log: this.#log,
      clock: {
        now: () => this.#clock.now(),
        maxSkewMs: this.#timeouts.clockRefuseMs - this.#timeouts.clockAdoptMs - 1,
      },
    };
    this.#sink = options.trace;
    this.#answers = new HeldAnswers(this.id, (fn) =>
      runtime.defer ? runtime.defer(fn) : queueMicrotask(fn),
    );
    this.#sender = new Sender({
      id: this.id,
      clock: this.#clock,
      links: this.#links,
      nodes: this.#nodes,
      runtime,
      dialTimeoutMs: this.#dialTimeoutMs,
      answerTimeoutMs: this.#timeouts.answerTimeoutMs,
      unanswered: (remote) => {
        this.#answerTimeouts++;
        this.#log.warn?.("answer timeout: closing the participant's session", {
          remote,
          code: "E_ANSWER_TIMEOUT",
        });
        this.#links.get(remote)?.close("E_ANSWER_TIMEOUT", `${remote} left a frame unanswered too long`);
      },
      trace: (record) => this.#trace(record),
      tracing: this.#sink !== undefined,
      traceSummary: traceSummaryLimit(options.traceSummary),
      batchCaps: batchCaps(options.batch),
      answers: this.#answers,
      replayHeld: () => this.#inbound.replayHeld(),
      wakeIdle: () => this.#wakeIdle(),
      closed: () => this.#state === "closed",
      assertUsable: (handle) => this.#assertUsable(handle),
      owned: (node) => this.#owned(node),
      sign: options.identity
        ? (data) => (options.identity as Identity).signNow(data) ?? (options.identity as Identity).sign(data)
        : undefined,
    });
    const t = this.#timeouts;
    this.#reconciler = new Reconciler({
      id: this.id,
      now: () => runtime.now(),
      // T3: past any asker's session end with the sender, its dial, and a round trip.
      keepMs: Math.max(t.stageTimeoutMs, t.deadAfterMs + t.graceMs) + t.dialTimeoutMs + t.answerTimeoutMs,
      maxRetained: MAX_RETAINED_FINALS,
      session: (peer) => {
        const session = this.#links.get(peer);
        return session?.id === undefined ? undefined : session;
      },
      reach: (peer) => this.#links.session(peer),
      linked: (peer) => this.#links.has(peer),
      staged: (sender, seq) => this.#inbound.stagedView(sender, seq),
      stagedBeyond: (sender, seq) => this.#inbound.stagedBeyond(sender, seq),
      setTimer: (ms, fn) => runtime.setTimer(ms, fn),
      commit: (sender, seq, proof) => this.#inbound.commit(sender, seq, proof.lamport, proof.dead, proof),
      drop: (sender, seq) => this.#inbound.dropReconciled(sender, seq),
      trace: (record) => this.#trace(record),
      warn: (message, fields) => this.#log.warn?.(message, fields),
      closed: () => this.#state === "closed",
    });
    this.#inbound = new Inbound({
      reconciler: this.#reconciler,
      id: this.id,
      clock: this.#clock,
      owned: (node) => this.#nodes.get(node),
      handle: (name) => this.#handles.get(name),
      acquire: (ref) => {
        const handle = this.#handleFor(ref.owner, ref.node);
        // An owner's handle to its own node is not counted (spec/ordering.md §5).
        if (ref.owner !== this.id) handle.acquire();
        return handle;
      },
      deadHandle: (ref) => {
        const handle = this.#handleFor(ref.owner, ref.node);
        // Dead because its owner is lost: a new session with the owner may bring it back.
        handle.markDestroyed(!this.#links.lost(ref.owner));
        return handle;
      },
      reach: (owner, via) => this.#links.reach(owner, via),
      lost: (owner) => this.#links.lost(owner),
      giveBack: (ref) => {
        if (ref.owner !== this.id) this.#sender.release(ref.owner, ref.node, 1, this.id, true);
      },
      trace: (record) => this.#trace(record),
      tracing: this.#sink !== undefined,
      quota: this.#quota,
      roomForHandles: (count) => this.#handles.size + count <= this.#maxHandles,
      stageTimeoutMs: this.#timeouts.stageTimeoutMs,
      stallMs: this.#timeouts.stallMs,
      setTimer: (ms, fn) => runtime.setTimer(ms, fn),
      now: () => runtime.now(),
      expire: (sender) => {
        this.#stageTimeouts++;
        this.#log.warn?.("stage timeout: closing the sender's session", {
          remote: sender,
          code: "E_STAGE_TIMEOUT",
        });
        this.#links
          .get(sender)
          ?.close(
            "E_STAGE_TIMEOUT",
            `events of ${sender} stayed staged too long, or stalled the queue too long`,
          );
      },
      linked: (remote) => this.#links.has(remote),
      forgetPeer: (remote, clean) => {
        for (const owned of this.#nodes.values()) owned.forget(remote, clean);
      },
      overQuota: (from, event) => {
        this.#quotaRefusals++;
        this.#log.debug?.("event refused: over quota", { remote: from, event, code: "E_QUOTA" });
      },
      deliver: (event, charge) => {
        // After close nothing is delivered (nor traced): the close record is the last (trace.md W2).
        if (this.#state === "closed") {
          if (charge > 0) this.#quota.discharge(event.ts.peer, charge);
          return;
        }
        this.#delivered++;
        const forApp = this.#requests.intercept(event);
        // A reply taken by its request is read now; a decorated request carries the charge on.
        // The charged sender is always the message's own, event.ts.peer.
        if (!forApp && charge > 0) this.#quota.discharge(event.ts.peer, charge);
        if (forApp) this.#mailbox.push(forApp, charge);
        this.#wakeIdle();
      },
    });
    this.#routes = {
      inbound: this.#inbound,
      sender: this.#sender,
      capabilities: this.#capabilities,
      links: this.#links,
      reconciler: this.#reconciler,
      answers: this.#answers,
    };
    const name = traceName(options.name);
    this.#trace({ peer: this.id, op: "start", ...(name === undefined ? {} : { name }) });
    this.connect(new LoopbackLink(), this.id);
  }

  /**
   * The hybrid logical clock (spec/ordering.md §2): Unix ms × 2^11 plus a counter, past every
   * timestamp this peer has applied, and never more than the adopt offset ahead of its wall clock.
   */
  get clock(): number {
    return this.#clock.value;
  }

  /** Events delivered here and not yet read by the application. */
  get queued(): number {
    return this.#mailbox.size;
  }

  /**
   * The logger given in PeerOptions.logger, as the peer calls it (levels it lacks are absent;
   * exceptions dropped): transports and dialers of this peer report through it too.
   */
  get logger(): Logger {
    return this.#log;
  }

  /**
   * This peer's timeouts, resolved (spec/limits.md §3.1): transports check their links' dead-link
   * time and grace against them.
   */
  get timeouts(): Timeouts {
    return this.#timeouts;
  }

  /** Peers this peer has a live link to (itself excluded). */
  get linkedPeers(): string[] {
    return this.#links.remotes();
  }

  /**
   * A snapshot of this peer's counters (PeerStats): events sent and delivered, queue depth and
   * the oldest staged entry's age, round latencies over the last 1024 rounds, and per linked
   * peer its frames, bytes, resumes and unacknowledged bytes. Cheap enough to poll every second.
   */
  stats(): PeerStats {
    const now = this.#runtime.now();
    const links: Record<string, LinkStats> = {};
    for (const session of this.#links.all()) {
      if (session.remote === undefined || session.remote === this.id) continue;
      links[session.remote] = {
        live: session.live,
        resumes: session.resumes,
        framesOut: session.framesOut,
        bytesOut: session.bytesOut,
        framesIn: session.framesIn,
        bytesIn: session.bytesIn,
        duplicates: session.duplicates,
        unackedBytes: session.unackedBytes,
        bufferedBytes: session.bufferedBytes,
      };
    }
    return {
      at: now,
      events: { sent: this.#sender.sent, delivered: this.#delivered, undecided: this.#sender.undecided },
      queue: {
        depth: this.#inbound.size,
        staged: this.#inbound.staged,
        oldestStagedMs: this.#inbound.oldestStagedMs(now),
        unread: this.#mailbox.size,
      },
      rounds: this.#sender.rounds.snapshot(),
      fast: this.#sender.fast.snapshot(),
      quotaRefusals: this.#quotaRefusals,
      stageTimeouts: this.#stageTimeouts,
      answerTimeouts: this.#answerTimeouts,
      reconciliations: { ...this.#reconciler.counts },
      links,
      tables: {
        handles: this.#handles.size,
        tombstones: this.#inbound.tombstones,
        replaySets: this.#inbound.replaySets,
        endpoints: this.#links.knownPeers,
        hints: this.#links.hintedPeers,
        lostPeers: this.#links.lostPeers,
        holders: this.#holderEntries(),
      },
    };
  }

  /** Create a node owned by this peer. Export it, or send its handle, so others can send to it. */
  createNode(): Node {
    this.#assertOpen();
    const node = new Node(this.id, ++this.#nodeSeq);
    this.#nodes.set(node.id, new OwnedNode(node));
    this.#table(node.handle);
    return node;
  }

  /** Give `holder` one reference to `node`, outside any message (bootstrap). */
  grant(node: Node, holder: string): HandleGrant {
    this.#assertOpen();
    const owned = this.#owned(node);
    if (owned.state !== "alive") throw new CapbusError("E_DESTROYED", `${node.name} is destroyed`);
    owned.acquire([holder]);
    return { owner: this.id, node: node.id, holder };
  }

  /** Take up a handle granted to this peer outside any message. */
  importHandle(grant: HandleGrant): Handle {
    this.#assertOpen();
    if (grant.holder !== this.id) {
      throw new CapbusError("E_NO_HANDLE", `the grant is for ${grant.holder}, not ${this.id}`);
    }
    // A grant for a node its owner destroyed (a forged or stale one) brings nothing back to life.
    if (grant.owner !== this.id && this.#inbound.tombstoned(grant.owner, grant.node))
      throw new CapbusError("E_DESTROYED", `${nodeName(grant.owner, grant.node)} is destroyed`);
    const handle = this.#handleFor(grant.owner, grant.node);
    if (grant.owner !== this.id) handle.acquire();
    if (handle.state === "destroyed") throw new CapbusError("E_DESTROYED", `${handle.name} is destroyed`);
    this.#trace({ peer: this.id, op: "import", node: handle.name });
    return handle;
  }

  /**
   * Attach a link to another peer. `remote` is the peer expected at the other end (when this
   * end dialled); otherwise the remote's hello names it. The link's handshake decides whether
   * it starts a session or resumes the one held with that peer (spec/transports.md §3-4);
   * `options` apply to a session it starts. After close the link is closed with E_CLOSED
   * instead (not thrown: transports call this from their socket handlers).
   */
  connect(link: Link, remote?: string, options: SessionOptions = {}): void {
    // While closing, links still come: a redial resumes a session whose rounds must finish.
    if (this.#state === "closed") return link.close("E_CLOSED", `peer ${this.id} is closed`);
    const resolved = resolveSessionOptions({ ...this.#sessionDefaults, ...options }, this.#runtime);
    connectLink(link, this.#handshake, resolved, remote);
  }

  /**
   * Send `payload` to one node (unicast) or several (multicast), in the global order. Resolves
   * once the order is decided, with each destination's outcome; rejects (a CapbusError) when it
   * cannot be sent at all: this peer closed, a dead handle, an owner that cannot be linked.
   * `options.handles` carries handles along.
   *
   * @example
   * ```ts
   * import { startPeer } from "capbus/node";
   *
   * const a = await startPeer();
   * const b = await startPeer();
   * const inbox = a.peer.createNode();
   * const handle = await b.peer.import(a.peer.export(inbox)); // the URL would come from elsewhere
   * const result = await b.peer.send(handle, { hello: "world" }); // or send([h1, h2], ...): multicast
   * if (result.ok) console.log("committed at", result.ts); // every peer orders it by this timestamp
   * else console.log(result.destinations.map((d) => d.code)); // why not, per destination
   * console.log(await a.peer.receive()); // { kind: "message", node: inbox, payload: { hello: "world" }, ... }
   * await Promise.all([a.close(), b.close()]);
   * ```
   */
  send(
    to: Handle | readonly Handle[],
    payload: unknown,
    options: SendOptions = NO_OPTIONS,
  ): Promise<SendResult> {
    try {
      this.#assertOpen();
      // The common case, one linked destination and no handles, skips the owner bookkeeping.
      if (!Array.isArray(to) && (options.handles === undefined || options.handles.length === 0)) {
        const target = to as Handle;
        this.#assertUsable(target);
        if (this.#gate === undefined && this.#links.has(target.owner))
          return this.#sender.sendUnicast(target, payload, options.signal);
      }
      const targets = Array.isArray(to) ? to : [to as Handle];
      // A multicast to linked peers carrying no handles: checked in one pass, nothing copied.
      if (this.#gate === undefined && (options.handles?.length ?? 0) === 0 && this.#allLinked(targets))
        return this.#sender.send(targets, payload, options);
      for (const handle of [...targets, ...(options.handles ?? [])]) this.#assertUsable(handle);
      const owners = new Set([...targets, ...(options.handles ?? [])].map((h) => h.owner));
      const missing = [...owners].filter((owner) => !this.#links.has(owner));
      if (missing.length === 0 && this.#gate === undefined)
        return this.#sender.send(targets, payload, options);
      // An owner not linked yet (a dial in progress): wait for it, and let no later send overtake.
      const started = (this.#gate ?? Promise.resolve()).then(async () => {
        await unlessAborted(Promise.all(missing.map((owner) => this.#links.session(owner))), options.signal);
        this.#assertOpen();
        return { sent: this.#sender.send(targets, payload, options) };
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

  /**
   * Resolves once nothing waits in the send queue to `to`'s owner (SessionOptions.maxBufferedBytes;
   * stats().links[owner].bufferedBytes), at once if nothing does or there is no session. A burst
   * can await it between sends, or after one refused with E_BACKPRESSURE, before going on.
   */
  drained(to: Handle): Promise<void> {
    try {
      this.#assertOpen();
      return this.#links.get(to.owner)?.drained() ?? Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Listen on `endpoint` too (a transport calls this): linked peers are told where to dial. */
  advertise(endpoint: string): void {
    this.#assertOpen();
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
    this.#assertOpen();
    const owned = this.#owned(node);
    if (owned.state !== "alive") throw new CapbusError("E_DESTROYED", `${node.name} is destroyed`);
    const endpoint = options.endpoint ?? this.#links.endpoints[0];
    if (endpoint === undefined)
      throw new CapbusError("E_NO_EXPORT", "no endpoint to name: advertise one first");
    return this.#capabilities.export(node.id, endpoint);
  }

  /**
   * Revoke a capability URL, or every URL of a node. Handles already given stay (as in bus1).
   * A cleanup, so allowed after close: it returns 0 then, as a closed peer answers no claim.
   */
  revoke(target: string | Node): number {
    if (this.#state === "closed") return 0;
    return this.#capabilities.revoke(typeof target === "string" ? { url: target } : { node: target.id });
  }

  /** Obtain a handle from a capability URL: dial its owner if needed, and present the secret. */
  async import(url: string): Promise<Handle> {
    this.#assertOpen();
    const cap = parseCapabilityUrl(url);
    if (cap.peer === this.id)
      return this.#owned(this.#nodes.get(this.#capabilities.own(cap.secret))?.node as Node).node.handle;
    if (this.#handles.size >= this.#maxHandles)
      throw new CapbusError("E_QUOTA", "no room for another handle");
    if (!this.#links.has(cap.peer)) this.#links.learn(cap.peer, [cap.endpoint]);
    const session = await this.#links.session(cap.peer);
    const event = this.#sender.nextSeq();
    const node = await this.#capabilities.claim(cap.peer, event, cap.secret, (frame) => session.send(frame));
    const handle = this.#handleFor(cap.peer, node);
    handle.acquire();
    this.#trace({ peer: this.id, op: "import", node: handle.name });
    return handle;
  }

  /** Every target usable (throws as send does otherwise) and its owner linked. */
  #allLinked(targets: readonly Handle[]): boolean {
    let linked = true;
    for (const handle of targets) {
      this.#assertUsable(handle);
      if (linked && !this.#links.has(handle.owner)) linked = false;
    }
    return linked;
  }

  /**
   * Send `payload` as a request to one node and resolve with the reply's payload. The receiver
   * answers with `event.reply(payload)`; the reply comes back as an ordered event, to a reply
   * node this peer keeps for all its requests.
   *
   * @example
   * ```ts
   * import { startPeer } from "capbus/node";
   *
   * const server = await startPeer();
   * const client = await startPeer();
   * const adder = await client.peer.import(server.peer.export(server.peer.createNode()));
   * const answer = client.peer.request(adder, { add: [2, 3] });
   *
   * const event = await server.peer.receive(); // the request, in the order like any message
   * if (event?.kind === "message" && event.reply) {
   *   const { add } = event.payload as { add: [number, number] };
   *   await event.reply(add[0] + add[1]); // once; a second reply fails with E_DUPLICATE
   * }
   * console.log(await answer); // 5 (rejects with a CapbusError if the request is not delivered)
   * await Promise.all([client.close(), server.close()]);
   * ```
   */
  request(to: Handle, payload: unknown, options: SendOptions = NO_OPTIONS): Promise<unknown> {
    return this.#requests.request(to, payload, options);
  }

  /**
   * Destroy nodes of this peer in one event: the owner and every holder are told, in the order;
   * messages ordered after it are not delivered. Resolves with the destroy's final timestamp.
   */
  destroy(nodes: Node | readonly Node[]): Promise<Timestamp> {
    try {
      this.#assertOpen();
      return this.#sender.destroy(Array.isArray(nodes) ? nodes : [nodes as Node]);
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

  /** Iterate delivered events until the peer is closed and drained: `for await (const event of peer)`. */
  [Symbol.asyncIterator](): AsyncIterator<PeerEvent, undefined> {
    return this.#mailbox[Symbol.asyncIterator]();
  }

  /**
   * Graceful close (spec/ordering.md §12): destroy this peer's nodes and release its handles through the
   * ordered paths, wait until every event of its own is decided, then close the links.
   */
  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closing";
    const alive = [...this.#nodes.values()].filter((o) => o.state === "alive").map((o) => o.node);
    if (alive.length > 0) void this.#sender.destroy(alive).catch(() => undefined);
    for (const handle of this.#handles.values()) {
      if (handle.owner !== this.id) while (handle.state === "live" && handle.references > 0) handle.release();
    }
    // Wait for this peer's own events to be decided, and those it sent itself delivered.
    while (!this.#quiet()) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#state = "closed";
    this.#requests.close();
    this.#reconciler.close();
    this.#trace({ peer: this.id, op: "close" });
    this.#answers.flushAll(); // answers held for this turn go before the close (B7)
    for (const session of this.#links.all()) session.close("OK", "peer closed");
    this.#mailbox.end();
  }

  /** Close now: undecided events fail with E_ABORTED and every link closes. */
  abort(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#reconciler.close();
    // Accepts held for this turn answer events already committed here: they go before the links close (B7).
    this.#answers.flushAll();
    this.#sender.abortAll(new CapbusError("E_ABORTED", "the peer was aborted"));
    for (const session of this.#links.all()) session.close("E_ABORTED", "peer aborted");
    this.#mailbox.end();
    this.#wakeIdle();
  }

  // ---- sending -------------------------------------------------------------------------------
  // ---- receiving -----------------------------------------------------------------------------

  readonly #handler: SessionHandler = {
    frame: (session, frame, size) => this.#onFrame(session, frame, size),
    closed: (session, info) => this.#onClosed(session, info),
    attached: (session, resumed) => {
      if (!resumed) this.#links.established(session);
      if (session.remote !== this.id)
        this.#log.info?.(resumed ? "session resumed" : "session up", { remote: session.remote });
    },
    detached: (session, info) =>
      this.#log.debug?.("session detached, waiting for a resume", {
        remote: session.remote,
        code: info.code,
        graceMs: session.options.graceMs,
      }),
  };

  #onFrame(session: LinkSession, frame: Frame, size: number): void {
    if (frame.type === "hello") {
      this.#keys.set(session, frame.key);
      return this.#onHello(session, frame.peer);
    }
    if (session.remote === undefined || !this.#hello.has(session)) {
      throw new CapbusError("E_PROTOCOL", `${frame.type} before hello`);
    }
    this.#clockGate.arrive(session, frame, size);
  }

  /** A frame past the clock gate (H2): now or after its link's hold. */
  #process(session: LinkSession, frame: Frame, size: number): void {
    routeFrame(this.#routes, session, frame, size);
  }

  /**
   * `remote` is lost to this peer: never reached (`unreachable`, spec/bootstrap.md §3) or gone
   * without a clean close (`crash`, spec/guarantees.md). Each live handle to its nodes gets its
   * one destroyed notification; after a crash, its references to this peer's nodes go too.
   */
  #lose(remote: string, reason: "unreachable" | "crash", code?: string, traced = false): void {
    if (this.#state === "closed") return;
    // The checker's cue that `remote` is lost here, for either reason (spec/trace.md `expire`).
    const why = code ?? (reason === "unreachable" ? "E_UNREACHABLE" : undefined);
    if (!traced) this.#trace({ peer: this.id, op: "expire", other: remote, ...(why ? { code: why } : {}) });
    this.#inbound.lost(remote, lossNotices(remote, reason, this.#handles.values(), this.#nodes.values()));
  }

  #onHello(session: LinkSession, remote: string): void {
    if (this.#hello.has(session)) throw new CapbusError("E_PROTOCOL", "a second hello");
    if (session.remote !== undefined && session.remote !== remote) {
      throw new CapbusError("E_PROTOCOL", `expected peer ${session.remote}, got ${remote}`);
    }
    if (session.remote === undefined) this.#links.register(session, remote);
    this.#hello.add(session);
  }

  #onClosed(session: LinkSession, info: LinkClosedInfo): void {
    const remote = session.remote;
    if (remote !== this.id) {
      const fields = { remote, code: info.code, reason: info.reason, byRemote: info.byRemote };
      if (info.code === "OK") this.#log.info?.("session closed", fields);
      else this.#log.warn?.(info.code === "E_SESSION_EXPIRED" ? "session expired" : "session closed", fields);
    }
    this.#clockGate.drop(session);
    this.#answers.forget(session);
    if (!this.#links.remove(session, info) || remote === undefined) return;
    // Recorded before anything is decided without `remote` (the sender's rounds below): a trace
    // must show the loss before a commit that left it out (spec/trace.md W13).
    const crashed =
      this.#state !== "closed" && remote !== this.id && session.id !== undefined && info.code !== "OK";
    if (crashed) this.#trace({ peer: this.id, op: "expire", other: remote, code: info.code });
    this.#quota.leave(remote);
    this.#capabilities.lost(remote);
    this.#inbound.dropSender(remote, this.#keys.get(session), (peer) => this.#links.hintFrom(session, peer));
    this.#reconciler.sessionEnded(remote);
    this.#sender.lost(remote);
    this.#requests.lost(remote);
    if (this.#state === "closed" || remote === this.id) return;
    if (session.id === undefined) {
      // A first handshake that never completed lost nobody: the dial timeout decides (bootstrap.md
      // D5). A holder of the remote's nodes starts it, as if a handle had just arrived; after
      // E_WRONG_PEER it has already been given up.
      if (info.code !== "OK" && info.code !== "E_WRONG_PEER" && this.#holdsLive(remote))
        this.#links.reach(remote);
      return;
    }
    if (info.code !== "OK") this.#lose(remote, "crash", info.code, crashed);
    // After its queued entries (and crash notices), forget what was kept for it (issue 17).
    this.#inbound.gone(remote, info.code === "OK");
  }

  /** Does this peer hold a live handle to a node of `owner`? */
  #holdsLive(owner: string): boolean {
    for (const handle of this.#handles.values())
      if (handle.owner === owner && handle.state === "live") return true;
    return false;
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Holder and credit entries over this peer's nodes (stats). */
  #holderEntries(): number {
    let entries = 0;
    for (const owned of this.#nodes.values()) entries += owned.references.size + owned.credits;
    return entries;
  }

  #owned(node: Node): OwnedNode {
    const owned = this.#nodes.get(node.id);
    if (!owned || owned.node !== node)
      throw new CapbusError("E_NO_NODE", `${node.name} is not a node of ${this.id}`);
    return owned;
  }

  #handleFor(owner: string, node: number): Handle {
    let handle = this.#handles.find(owner, node);
    if (!handle) {
      handle = new Handle(this.id, owner, node, this.#host);
      this.#table(handle);
    }
    return handle;
  }

  #table(handle: Handle): void {
    this.#handles.add(handle);
    if (handle.owner !== this.id) this.#byOwner.set(handle.owner, (this.#byOwner.get(handle.owner) ?? 0) + 1);
  }

  /** A handle released or destroyed leaves the table; with its owner's last, the owner's endpoints may go. */
  #untable(handle: Handle): void {
    if (!this.#handles.delete(handle)) return;
    const left = (this.#byOwner.get(handle.owner) ?? 1) - 1;
    if (left > 0) return void this.#byOwner.set(handle.owner, left);
    this.#byOwner.delete(handle.owner);
    this.#links.forget(handle.owner);
  }

  /** The handle is this peer's, and neither released nor destroyed. */
  #assertUsable(handle: Handle): void {
    if (handle.holder !== this.id) {
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
    // Released and destroyed handles have left the table; any other not in it is not this peer's.
    if (!this.#handles.holds(handle)) {
      throw new CapbusError("E_NO_HANDLE", `${handle.name} is not a handle of ${this.id}`);
    }
  }

  #assertOpen(): void {
    if (this.#state !== "open") throw new CapbusError("E_CLOSED", `peer ${this.id} is closed`);
  }

  /** Events from other peers held in the queue and the unread mailbox, and their decoded size. */
  get queuedFromOthers(): { readonly events: number; readonly bytes: number } {
    return this.#quota.used;
  }

  #quiet(): boolean {
    return this.#sender.undecided === 0 && !this.#inbound.hasFrom(this.id);
  }

  #wakeIdle(): void {
    if (this.#idle.length === 0 || (!this.#quiet() && this.#state !== "closed")) return;
    for (const wake of this.#idle.splice(0)) wake();
  }

  #trace(record: TraceRecord): void {
    // Nothing follows the close record (trace.md W2): a late timer or frame must not write one.
    if (this.#traceClosed) return;
    if (record.op === "close") this.#traceClosed = true;
    this.#sink?.write(record);
  }
}

/** A send's options when none are given: shared, not an object made per send. */
const NO_OPTIONS: SendOptions = Object.freeze({});

/** The batch caps of `options.batch`: whole numbers of at least 1, or E_OPTIONS. */
function batchCaps(batch: PeerOptions["batch"]): { maxEvents: number; maxBytes: number } {
  const maxEvents = batch?.maxEvents ?? 64;
  const maxBytes = batch?.maxBytes ?? 65536;
  for (const [name, value] of [
    ["batch.maxEvents", maxEvents],
    ["batch.maxBytes", maxBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new CapbusError("E_OPTIONS", `${name} must be a whole number of at least 1, not ${value}`);
  }
  return { maxEvents, maxBytes };
}

/** A fresh random peer id: 16 hex digits from the runtime's randomness. */
export function randomPeerId(runtime: Runtime): string {
  const bytes = new Uint8Array(8);
  runtime.randomBytes(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
