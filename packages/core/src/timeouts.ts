/**
 * The timeouts that must fit together (spec/limits.md §3.1): defaults derived from the rules,
 * and option sets that break a rule refused with E_OPTIONS, so that no timeout cuts a link the
 * others still count as healthy.
 */
import { CapbusError } from "./errors.js";
import { DEFAULT_CLOCK_ADOPT_MS, DEFAULT_CLOCK_REFUSE_MS } from "./timestamp.js";

/** How long the links a peer gets from transports may be broken before their session ends. */
export interface LinkTimeouts {
  /** Silence before a broken link is noticed (the transports' `deadAfterMs`); 0: breaks are reported at once. */
  readonly deadAfterMs?: number;
  /** How long a broken link's session waits for a resume (`SessionOptions.graceMs` of transport links). */
  readonly graceMs?: number;
}

/** The timeouts of one peer, as given: any may be left out and is then derived. */
export interface TimeoutOptions {
  /** `PeerOptions.dialTimeoutMs`. */
  readonly dialTimeoutMs?: number | undefined;
  /** `PeerOptions.stageTimeoutMs`. */
  readonly stageTimeoutMs?: number | undefined;
  /** `SessionOptions.handshakeTimeoutMs`. */
  readonly handshakeTimeoutMs?: number | undefined;
  /** The links the stage timeout must outlast. @default the transports' (15000, 30000) */
  readonly links?: LinkTimeouts | undefined;
  /** `PeerOptions.clockAdoptMs`. */
  readonly clockAdoptMs?: number | undefined;
  /** `PeerOptions.clockRefuseMs`. */
  readonly clockRefuseMs?: number | undefined;
}

/** Every timeout, resolved and checked. */
export interface Timeouts {
  /** How long a dial, and a destroy's wait for holders never linked, lasts. */
  readonly dialTimeoutMs: number;
  /** How long an entry may stay staged before its sender is cut off (E_STAGE_TIMEOUT). */
  readonly stageTimeoutMs: number;
  /** How long a link's handshake may take (E_HANDSHAKE_TIMEOUT). */
  readonly handshakeTimeoutMs: number;
  /** The longest a broken link goes unnoticed. */
  readonly deadAfterMs: number;
  /** The longest a broken link's session waits for a resume. */
  readonly graceMs: number;
  /** H2's adopt offset: values up to this far ahead of the wall clock apply at once. */
  readonly clockAdoptMs: number;
  /** H2's refuse offset: a value further ahead closes its link (E_CLOCK_SKEW). */
  readonly clockRefuseMs: number;
}

/** The transports' dead-link time unless told otherwise (`LivenessOptions.deadAfterMs`). */
export const DEFAULT_DEAD_AFTER_MS = 15_000;
/** The grace of the transports' sessions unless told otherwise. */
export const DEFAULT_GRACE_MS = 30_000;
/** The transports' heartbeat interval unless told otherwise (`LivenessOptions.heartbeatMs`). */
export const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_DIAL_TIMEOUT_MS = 10_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** What a derived stage timeout adds to the longest legitimate wait (rule T2). */
const STAGE_MARGIN_MS = 15_000;

/**
 * The longest a live sender may legitimately leave an entry staged at a destination within one
 * round (T2): a destroy waits up to the dial timeout for holders never linked, then for a
 * holder whose link broke silently until its session expires.
 */
export function stagedWaitMs(t: Pick<Timeouts, "dialTimeoutMs" | "deadAfterMs" | "graceMs">): number {
  return t.dialTimeoutMs + t.deadAfterMs + t.graceMs;
}

/** T2: the least stage timeout for a given wait; a quarter on top for the round after it. */
export function leastStageTimeoutMs(waitMs: number): number {
  return Math.ceil(waitMs * 1.25);
}

/**
 * Resolve a peer's timeouts (spec/limits.md §3.1): what is left out is derived so that the set
 * keeps rules T1 and T2; a set given that breaks one is refused with E_OPTIONS.
 */
export function resolveTimeouts(given: TimeoutOptions): Timeouts {
  for (const [name, value] of Object.entries({ ...given, ...given.links })) {
    if (typeof value === "number" && !(Number.isFinite(value) && value >= 0))
      throw new CapbusError("E_OPTIONS", `${name} must be a finite number of ms, at least 0 (got ${value})`);
  }
  const deadAfterMs = given.links?.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
  const graceMs = given.links?.graceMs ?? DEFAULT_GRACE_MS;
  const links = deadAfterMs + graceMs;
  // With only the stage timeout given, the dial timeout shrinks to fit it (T2).
  const dialFits = given.stageTimeoutMs === undefined ? Infinity : given.stageTimeoutMs / 1.25 - links;
  const dialTimeoutMs =
    given.dialTimeoutMs ??
    Math.max(given.handshakeTimeoutMs ?? 1, Math.min(DEFAULT_DIAL_TIMEOUT_MS, Math.floor(dialFits)));
  const handshakeTimeoutMs =
    given.handshakeTimeoutMs ?? Math.min(DEFAULT_HANDSHAKE_TIMEOUT_MS, dialTimeoutMs);
  const wait = stagedWaitMs({ dialTimeoutMs, deadAfterMs, graceMs });
  const stageTimeoutMs = given.stageTimeoutMs ?? Math.max(wait + STAGE_MARGIN_MS, leastStageTimeoutMs(wait));
  const clockAdoptMs = given.clockAdoptMs ?? DEFAULT_CLOCK_ADOPT_MS;
  // The default margin (30 s) shrinks to fit a short stage timeout (T6).
  const margin = Math.min(DEFAULT_CLOCK_REFUSE_MS - DEFAULT_CLOCK_ADOPT_MS, Math.floor(stageTimeoutMs / 2));
  const clockRefuseMs = given.clockRefuseMs ?? clockAdoptMs + margin;
  const resolved = {
    dialTimeoutMs,
    stageTimeoutMs,
    handshakeTimeoutMs,
    deadAfterMs,
    graceMs,
    clockAdoptMs,
    clockRefuseMs,
  };
  checkTimeouts(resolved);
  return resolved;
}

/** Refuse a set that breaks T1, T2 or T6 (spec/limits.md §3.1) with E_OPTIONS, naming the rule. */
export function checkTimeouts(t: Timeouts): void {
  if (t.dialTimeoutMs <= 0)
    throw new CapbusError("E_OPTIONS", `dialTimeoutMs must be above 0 (got ${t.dialTimeoutMs})`);
  if (t.handshakeTimeoutMs > t.dialTimeoutMs) {
    throw new CapbusError(
      "E_OPTIONS",
      `handshakeTimeoutMs (${t.handshakeTimeoutMs}) must not exceed dialTimeoutMs (${t.dialTimeoutMs}): ` +
        "a handshake would outlive the dial that gave up on it (spec/limits.md §3.1 T1)",
    );
  }
  const least = leastStageTimeoutMs(stagedWaitMs(t));
  if (t.stageTimeoutMs < least) {
    throw new CapbusError(
      "E_OPTIONS",
      `stageTimeoutMs (${t.stageTimeoutMs}) must be at least 1.25 × (dialTimeoutMs ${t.dialTimeoutMs} + ` +
        `deadAfterMs ${t.deadAfterMs} + graceMs ${t.graceMs}) = ${least}: a destination would cut off a ` +
        "healthy sender still waiting on a holder or a broken link (spec/limits.md §3.1 T2)",
    );
  }
  checkClockBounds(t);
}

/**
 * T6: the clock offsets of H2 (spec/ordering.md §2). The refuse offset must exceed the adopt
 * offset (their difference, less 1 ms, is the wall-clock skew tolerated between linked peers),
 * and a frame's hold (at most that difference) must fit twice in the stage timeout, so holds
 * never trip it.
 */
function checkClockBounds(t: Timeouts): void {
  if (!Number.isInteger(t.clockAdoptMs) || t.clockAdoptMs < 0 || !Number.isInteger(t.clockRefuseMs))
    throw new CapbusError(
      "E_OPTIONS",
      `clockAdoptMs and clockRefuseMs must be whole ms, at least 0 (got ${t.clockAdoptMs}, ${t.clockRefuseMs})`,
    );
  if (t.clockRefuseMs <= t.clockAdoptMs) {
    throw new CapbusError(
      "E_OPTIONS",
      `clockRefuseMs (${t.clockRefuseMs}) must exceed clockAdoptMs (${t.clockAdoptMs}): with no margin ` +
        "between them, any clock skew closes links (spec/limits.md §3.1 T6)",
    );
  }
  if (t.clockRefuseMs - t.clockAdoptMs > t.stageTimeoutMs / 2) {
    throw new CapbusError(
      "E_OPTIONS",
      `clockRefuseMs - clockAdoptMs (${t.clockRefuseMs - t.clockAdoptMs}) must be at most half of ` +
        `stageTimeoutMs (${t.stageTimeoutMs}): a frame held for the clock would trip the stage timeout ` +
        "(spec/limits.md §3.1 T6)",
    );
  }
}

/**
 * T3: a link's heartbeat must come well within the remote's dead-link time, or an idle healthy
 * link is declared dead. Refused with E_OPTIONS.
 */
export function checkLiveness(heartbeatMs: number, deadAfterMs: number): void {
  if (heartbeatMs > 0 && deadAfterMs > 0 && heartbeatMs * 2 > deadAfterMs) {
    throw new CapbusError(
      "E_OPTIONS",
      `heartbeatMs (${heartbeatMs}) must be at most half of deadAfterMs (${deadAfterMs}): an idle, healthy ` +
        "link would be declared dead (spec/limits.md §3.1 T3)",
    );
  }
  if (deadAfterMs > 0 && heartbeatMs === 0) {
    throw new CapbusError(
      "E_OPTIONS",
      `heartbeats are off but deadAfterMs is ${deadAfterMs}: an idle, healthy link would be declared dead ` +
        "(spec/limits.md §3.1 T3)",
    );
  }
}
