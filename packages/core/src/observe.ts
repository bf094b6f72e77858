/**
 * Observability: the injectable logger (`PeerOptions.logger`) and the counters behind
 * `Peer.stats()`. Both stay off the hot paths: a level the logger lacks costs one property
 * read (`log.debug?.(...)` evaluates no arguments when `debug` is absent), and counters are
 * integer increments; percentiles are computed only when a snapshot is taken.
 */

/** Fields attached to a log entry: plain, JSON-able values (peer ids, codes, counts). */
export type LogFields = Readonly<Record<string, unknown>>;

/** One logging level's function; `console.debug`, `console.warn` and the like fit it. */
export type LogFn = (message: string, fields?: LogFields) => void;

/**
 * Where a peer reports lifecycle events (`PeerOptions.logger`). Every level is optional: a
 * level left out is silent, and costs nothing at the call site. With no logger at all the
 * library writes nothing anywhere (it never falls back to the console). Levels are called as
 * methods of the object given; an exception a level throws is dropped. Calls are synchronous,
 * inside the peer's protocol handling: a slow logger slows the peer.
 *
 * - `debug`: crossed dials (E_CROSSED), links detached waiting for a resume, quota refusals,
 *   failed dials and redials (from the transports, through `Peer.logger`).
 * - `info`: sessions up, resumed, closed cleanly; handshake failures; unreachable peers.
 * - `warn`: sessions ended by an error code (expired, protocol error, ...), stage timeouts.
 * - `error`: unused by the core today; reserved for a peer that cannot go on.
 */
export interface Logger {
  /** Detail for tracing a problem: frequent, safe to ignore. */
  debug?: LogFn | undefined;
  /** Lifecycle: sessions starting, resuming, ending. */
  info?: LogFn | undefined;
  /** Something went wrong with a remote peer, and the peer handled it. */
  warn?: LogFn | undefined;
  /** Something went wrong with this peer. */
  error?: LogFn | undefined;
}

/** The logger of a peer given none: every level silent. */
export const SILENT: Logger = Object.freeze({});

const LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * The user's logger as the peer calls it: each level it has, called as its method (so a class
 * instance keeps its `this`), and never throwing: a logger's bug must not end a session or
 * leave the peer's bookkeeping half done, so its exceptions are dropped.
 */
export function guardLogger(logger: Logger | undefined): Logger {
  if (logger === undefined) return SILENT;
  const guarded: Logger = {};
  for (const level of LEVELS) {
    if (typeof logger[level] !== "function") continue;
    guarded[level] = (message, fields) => {
      try {
        logger[level]?.(message, fields);
      } catch {
        // dropped: see above
      }
    };
  }
  return Object.freeze(guarded);
}

/** Latencies over a recent window (milliseconds on the peer's Runtime clock). */
export interface LatencyStats {
  /** Samples taken since the peer started (the window holds the last 1024 of them). */
  readonly count: number;
  /** Median of the window; 0 when empty. */
  readonly p50: number;
  /** 99th percentile of the window (nearest rank); 0 when empty. */
  readonly p99: number;
  /** Largest sample in the window; 0 when empty. */
  readonly max: number;
}

/** One session with a remote peer, as `Peer.stats()` reports it. */
export interface LinkStats {
  /**
   * A link is attached and frames flow. False while the session's first handshake runs, and
   * while it is detached, waiting for a resume within its grace.
   */
  readonly live: boolean;
  /** Times the session resumed on a new link. */
  readonly resumes: number;
  /** Frames written to the session's links after the handshake (resends and acks included). */
  readonly framesOut: number;
  /** Their encoded bytes. */
  readonly bytesOut: number;
  /** Frames read from the session's links after the handshake (duplicates and acks included). */
  readonly framesIn: number;
  /** Their encoded bytes. */
  readonly bytesIn: number;
  /** Frames received again after a resume and dropped (P6). */
  readonly duplicates: number;
  /**
   * What sent frames the remote has not acknowledged yet take in memory: their bytes plus
   * HELD_FRAME_COST (160) each (the window in use, `SessionOptions.maxUnackedBytes`).
   */
  readonly unackedBytes: number;
  /**
   * What frames waiting in the session's send queue for window room (or for a resume), not
   * written yet, take in memory, counted as `unackedBytes`. Past `SessionOptions.maxBufferedBytes`, new messages to this peer are refused
   * with E_BACKPRESSURE; `peer.drained(handle)` waits until it is 0.
   */
  readonly bufferedBytes: number;
}

/** A snapshot of a peer's counters: plain data, safe to JSON.stringify. */
export interface PeerStats {
  /** When it was taken, on the peer's Runtime clock (ms). */
  readonly at: number;
  /** Events through this peer. */
  readonly events: {
    /** Messages this peer sent (a multicast counts once), since it started. */
    readonly sent: number;
    /**
     * Events delivered here: messages (replies to this peer's requests included), destroyed and
     * released notifications, and those made up for a lost peer.
     */
    readonly delivered: number;
    /** This peer's own events (messages, destroys, releases) not decided yet. */
    readonly undecided: number;
  };
  /** The incoming queue and the mailbox. */
  readonly queue: {
    /** Entries in the incoming queue, staged or committed, not yet delivered. */
    readonly depth: number;
    /** Of those, staged entries (waiting for their sender's commit). */
    readonly staged: number;
    /** Age of the oldest staged entry in ms; 0 when none is staged. */
    readonly oldestStagedMs: number;
    /** Delivered events the application has not read yet. */
    readonly unread: number;
  };
  /** Staging/commit rounds this peer ran (multicasts, handle transfers, destroys): send to decided. */
  readonly rounds: LatencyStats;
  /** Fast-path events this peer sent (plain unicasts, releases): send to the receiver's accept. */
  readonly fast: LatencyStats;
  /** Events from other peers refused here with E_QUOTA. */
  readonly quotaRefusals: number;
  /**
   * Sessions this peer ended because an entry stayed staged too long, or the sender's entries
   * stalled the queue too long (E_STAGE_TIMEOUT).
   */
  readonly stageTimeouts: number;
  /** Sessions this peer ended because a participant left a frame unanswered too long (E_ANSWER_TIMEOUT). */
  readonly answerTimeouts: number;
  /**
   * Multicasts whose sender's session ended while staged here, settled by asking their other
   * receivers (spec/ordering.md §16), by outcome: `committed` (a receiver showed the signed final),
   * `dropped` (every other receiver said none committed it), `fallback` (dropped with a receiver
   * given up or none to ask: the remaining window W1 of spec/guarantees.md §5).
   */
  readonly reconciliations: {
    readonly committed: number;
    readonly dropped: number;
    readonly fallback: number;
  };
  /** Sessions with other peers, by remote peer id (this peer's link to itself left out). */
  readonly links: Readonly<Record<string, LinkStats>>;
  /**
   * Sizes of what the peer keeps per peer or per node, each bounded (spec/limits.md §4): what a
   * hostile peer could otherwise grow, and what a cleanly closed session must not leave behind.
   */
  readonly tables: TableStats;
}

/** Entry counts of a peer's tables (PeerStats.tables). */
export interface TableStats {
  /** Handles in use: live ones and the peer's own nodes' (released and destroyed ones leave). */
  readonly handles: number;
  /** Destroyed third-party nodes remembered, so a handle arriving later is dead. */
  readonly tombstones: number;
  /** Senders whose recent event numbers are kept to refuse replays. */
  readonly replaySets: number;
  /** Peers whose endpoints are kept (to dial them, or to hint them to others). */
  readonly endpoints: number;
  /** Hints about third peers kept with sessions, until their senders pass those peers' handles. */
  readonly hints: number;
  /** Peers remembered as lost (handles of theirs arriving later are dead). */
  readonly lostPeers: number;
  /** Holder and credit entries over the peer's own nodes. */
  readonly holders: number;
}

const WINDOW = 1024;

/** The last WINDOW samples in a ring; allocated at the first sample (idle peers pay nothing). */
export class LatencyWindow {
  #ring: Float64Array | undefined;
  #count = 0;

  add(ms: number): void {
    this.#ring ??= new Float64Array(WINDOW);
    this.#ring[this.#count % WINDOW] = ms;
    this.#count++;
  }

  snapshot(): LatencyStats {
    const n = Math.min(this.#count, WINDOW);
    if (n === 0 || !this.#ring) return { count: 0, p50: 0, p99: 0, max: 0 };
    const sorted = this.#ring.slice(0, n).sort();
    return { count: this.#count, p50: rank(sorted, 0.5), p99: rank(sorted, 0.99), max: sorted[n - 1]! };
  }
}

/** Nearest-rank percentile of sorted samples. */
function rank(sorted: Float64Array, q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
