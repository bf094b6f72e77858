/**
 * Heartbeats and dead-link detection for one transport link (spec/transports.md §5): when this
 * end has written nothing for `heartbeatMs` it sends a heartbeat, and when nothing at all has
 * arrived for `deadAfterMs` the link is declared dead. Timers come from the injected Runtime.
 */
import { DEFAULT_DEAD_AFTER_MS, DEFAULT_HEARTBEAT_MS, type Runtime } from "@capbus/core";

/** Heartbeat and dead-link timers of a socket link. */
export interface LivenessOptions {
  /** Idle time after which a heartbeat is sent. 0 disables heartbeats. @default 5000 */
  heartbeatMs?: number;
  /** Silence after which the link is dead and closes with E_LINK_DEAD. 0 disables. @default 15000 */
  deadAfterMs?: number;
}

/** The heartbeat and dead-link timers of one link: `beat` when idle, `dead` after silence. */
export class Liveness {
  readonly #runtime: Runtime;
  readonly #heartbeatMs: number;
  readonly #deadAfterMs: number;
  #lastIn: number;
  #lastOut: number;
  #cancel: (() => void) | undefined;

  constructor(
    runtime: Runtime,
    options: LivenessOptions,
    private readonly beat: () => void,
    private readonly dead: () => void,
  ) {
    this.#runtime = runtime;
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#deadAfterMs = options.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
    this.#lastIn = this.#lastOut = runtime.now();
    this.#arm();
  }

  /** Note traffic from the remote end (it is alive). */
  received(): void {
    this.#lastIn = this.#runtime.now();
  }

  /** Note traffic to the remote end (no heartbeat needed yet). */
  sent(): void {
    this.#lastOut = this.#runtime.now();
  }

  /** Stop both timers (the link is closing). */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #arm(): void {
    const periods = [this.#heartbeatMs, this.#deadAfterMs].filter((ms) => ms > 0);
    if (periods.length === 0) return;
    // Check a few times per period, so a beat or a death is late by a fraction of it at most.
    this.#cancel = this.#runtime.setTimer(Math.max(1, Math.min(...periods) / 4), () => this.#tick());
  }

  #tick(): void {
    const now = this.#runtime.now();
    if (this.#deadAfterMs > 0 && now - this.#lastIn >= this.#deadAfterMs) {
      this.#cancel = undefined;
      return this.dead();
    }
    if (this.#heartbeatMs > 0 && now - this.#lastOut >= this.#heartbeatMs) {
      this.#lastOut = now;
      this.beat();
    }
    this.#arm();
  }
}
