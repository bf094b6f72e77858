/**
 * Keeps one dialled session connected (spec/transports.md §4.2): opens a link, hands it to the
 * peer, and when it breaks opens another, with backoff, for as long as the session with that
 * remote lives (until it closes or expires). The handshake on each new link resumes the session.
 */
import type { Link, LinkClosedInfo, Peer, Runtime, SessionOptions } from "@capbus/core";
import {
  DEFAULT_GRACE_MS as CORE_DEFAULT_GRACE_MS,
  CoreErrorCode,
  checkLiveness,
  checkTimeouts,
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_HEARTBEAT_MS,
  SessionErrorCode,
  systemRuntime,
} from "@capbus/core";
import type { LivenessOptions } from "./liveness.js";

/** A transport link that also tells when it has closed, so a dialer can replace it. */
export interface TransportLink extends Link {
  readonly done: Promise<LinkClosedInfo>;
}

/** Options of a Dialer: the session it starts, redial backoff, timers. */
export interface DialOptions {
  /** Session options for the session this dial starts. `graceMs` @default 30000 here. */
  session?: SessionOptions;
  /** First delay before redialling a broken link; doubles per failure. @default 100 */
  retryMs?: number;
  /** Longest delay between redials. @default 2000 */
  maxRetryMs?: number;
  /** Timers for redials and heartbeats. @default systemRuntime */
  runtime?: Runtime;
}

/** The grace period the transports use unless told otherwise (the core's, spec/limits.md §3.1). */
export const DEFAULT_GRACE_MS = CORE_DEFAULT_GRACE_MS;

/**
 * Refuse (E_OPTIONS) link options that break a rule of spec/limits.md §3.1 with `peer`'s own
 * timeouts: a heartbeat too slow for the dead-link time (T3), or a dead-link time and grace that
 * the peer's stage timeout does not outlast (T2). Listening and dialling call it first.
 */
export function checkLinkOptions(
  peer: Peer,
  options: LivenessOptions & { readonly session?: SessionOptions | undefined },
): void {
  const deadAfterMs = options.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
  checkLiveness(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, deadAfterMs);
  const { session } = options;
  checkTimeouts({
    ...peer.timeouts,
    deadAfterMs,
    graceMs: session?.graceMs ?? DEFAULT_GRACE_MS,
    handshakeTimeoutMs: session?.handshakeTimeoutMs ?? peer.timeouts.handshakeTimeoutMs,
  });
}

/** Session options with the socket transports' defaults filled in (a 30 s grace for resume). */
export function sessionDefaults(options: SessionOptions | undefined): SessionOptions {
  return { graceMs: DEFAULT_GRACE_MS, ...options };
}

/**
 * Keeps one session to a remote peer connected: opens a link, hands it to the peer, and redials with backoff
 * when it breaks, so the session resumes.
 */
export class Dialer {
  /** Resolves once the first link is connected and handed to the peer; rejects if it cannot be. */
  readonly ready: Promise<void>;
  /** Links opened so far (1 + reconnects). */
  connections = 0;
  readonly #peer: Peer;
  readonly #remote: string;
  readonly #open: (signal: AbortSignal) => Promise<TransportLink>;
  readonly #options: DialOptions;
  readonly #runtime: Runtime;
  #link: TransportLink | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  /** Aborted by `stop`: a connect still in progress gives up its socket (nothing keeps the process alive). */
  readonly #stop = new AbortController();

  /** `open` should give up (and free its socket) when `signal` aborts. */
  constructor(
    peer: Peer,
    remote: string,
    open: (signal: AbortSignal) => Promise<TransportLink>,
    options: DialOptions = {},
  ) {
    this.#peer = peer;
    this.#remote = remote;
    this.#open = open;
    this.#options = options;
    this.#runtime = options.runtime ?? systemRuntime;
    this.ready = this.#first();
  }

  /** The link in use, if one is connected. */
  get link(): TransportLink | undefined {
    return this.#link;
  }

  /** Stop redialling. The session and its current link stay as they are. */
  stop(): void {
    this.#stopped = true;
    this.#stop.abort();
    this.#wake?.();
  }

  async #first(): Promise<void> {
    const link = await this.#open(this.#stop.signal);
    this.#attach(link);
    void this.#loop(link);
  }

  #attach(link: TransportLink): void {
    this.connections++;
    this.#link = link;
    this.#peer.connect(link, this.#remote, sessionDefaults(this.#options.session));
  }

  async #loop(first: TransportLink): Promise<void> {
    const base = this.#options.retryMs ?? 100;
    let link: TransportLink | undefined = first;
    let delay = base;
    while (!this.#stopped) {
      if (link) {
        const info = await link.done;
        if (this.#link === link) this.#link = undefined;
        link = undefined;
        delay = base;
        // The remote dialled too and its link won the crossing (spec/transports.md §3.4), or a link
        // it dialled replaced this one: whoever dialled the session's link keeps it up.
        if (info.code === SessionErrorCode.E_CROSSED || info.code === SessionErrorCode.E_REPLACED) return;
        // The peer at this address is someone else: redialling it cannot reach the remote.
        if (info.code === CoreErrorCode.E_WRONG_PEER) return;
      }
      // The session is gone (closed, or expired at either end): nothing left to resume.
      if (this.#stopped || !this.#peer.linkedPeers.includes(this.#remote)) return;
      await this.#sleep(delay);
      if (this.#stopped || !this.#peer.linkedPeers.includes(this.#remote)) return;
      try {
        link = await this.#open(this.#stop.signal);
        this.#attach(link);
      } catch (error) {
        delay = Math.min(delay * 2, this.#options.maxRetryMs ?? 2000);
        this.#peer.logger.debug?.("redial failed", {
          remote: this.#remote,
          error: error instanceof Error ? error.message : String(error),
          retryMs: delay,
        });
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.#runtime.setTimer(ms, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        cancel();
        resolve();
      };
    });
  }
}

/**
 * Log a first dial that failed: debug for what networks do (refused, reset), error for a bug in
 * this process (a TypeError, say), which the dial timeout would otherwise report as merely
 * `unreachable`.
 */
export function logDialFailure(peer: Peer, remote: string, urls: readonly string[], error: unknown): void {
  const fields = { remote, urls, error: error instanceof Error ? error.message : String(error) };
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError)
    peer.logger.error?.("dial failed: a bug, not the network", fields);
  else peer.logger.debug?.("dial failed", fields);
}
