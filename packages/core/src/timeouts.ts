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
  /** `PeerOptions.answerTimeoutMs`. */
  readonly answerTimeoutMs?: number | undefined;
  /** `PeerOptions.stallMs`. */
  readonly stallMs?: number | undefined;
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
  /**
   * How long this peer waits for a participant's answer to a frame of its own events before it
   * closes that participant's session (E_ANSWER_TIMEOUT); a destroy's late holders get
   * `pickWindowMs` of it (T6).
   */
  readonly answerTimeoutMs: number;
  /**
   * An entry staged here longer than this counts against its sender's stall budget (T7): a
   * sender whose entries stall the queue for `stageTimeoutMs` in all is cut off.
   */
  readonly stallMs: number;
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
/** What a derived stage or answer timeout adds to the longest legitimate wait (rules T2, T6). */
const MARGIN_MS = 15_000;
/** The stall threshold unless told otherwise, or a quarter of a smaller stage timeout (T7). */
const DEFAULT_STALL_MS = 5_000;
/** Of the answer timeout, what a destroy's pick window gives its late holders (T6). */
const PICK_SHARE = 0.8;

/**
 * How long a destroy waits, in its pick window, for holders staged at its pick start before it
 * closes their sessions (T6): a fifth less than the answer timeout, so that a sender whose frame
 * the owner held for that window hears from the owner before its own answer timeout fires.
 */
export function pickWindowMs(answerTimeoutMs: number): number {
  return Math.floor(answerTimeoutMs * PICK_SHARE);
}

/**
 * The longest a live sender may legitimately leave an entry staged at a destination within one
 * round (T2): a destroy waits for its first participants' answers (at most the answer timeout)
 * and, at the same time, up to the dial timeout for holders never linked; then, in its pick
 * window, for holders staged at the pick start (`pickWindowMs`).
 */
export function stagedWaitMs(t: Pick<Timeouts, "dialTimeoutMs" | "answerTimeoutMs">): number {
  return Math.max(t.dialTimeoutMs, t.answerTimeoutMs) + pickWindowMs(t.answerTimeoutMs);
}

/** T2: the least stage timeout for a given wait; a quarter on top for the round after it. */
export function leastStageTimeoutMs(waitMs: number): number {
  return Math.ceil(waitMs * 1.25);
}

/**
 * T6: the least answer timeout for links with this dead-link time and grace. A participant whose
 * link broke is waited for until its session expires (dead + grace), and a destroy's pick window
 * (four fifths of the answer timeout) must outlast that too.
 */
export function leastAnswerTimeoutMs(t: Pick<Timeouts, "deadAfterMs" | "graceMs">): number {
  return Math.ceil((t.deadAfterMs + t.graceMs) / PICK_SHARE);
}

/**
 * Resolve a peer's timeouts (spec/limits.md §3.1): what is left out is derived so that the set
 * keeps rules T1, T2, T6, T7 and T8; a set given that breaks one is refused with E_OPTIONS.
 */
export function resolveTimeouts(given: TimeoutOptions): Timeouts {
  for (const [name, value] of Object.entries({ ...given, ...given.links })) {
    if (typeof value === "number" && !(Number.isFinite(value) && value >= 0))
      throw new CapbusError("E_OPTIONS", `${name} must be a finite number of ms, at least 0 (got ${value})`);
  }
  const deadAfterMs = given.links?.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
  const graceMs = given.links?.graceMs ?? DEFAULT_GRACE_MS;
  const links = deadAfterMs + graceMs;
  // With only the stage timeout given, the answer and dial timeouts shrink to fit it (T2):
  // max(dial, answer) + 0.8 × answer must stay within stage / 1.25.
  const budget = given.stageTimeoutMs === undefined ? Infinity : given.stageTimeoutMs / 1.25;
  const answerTimeoutMs =
    given.answerTimeoutMs ??
    Math.max(
      1,
      leastAnswerTimeoutMs({ deadAfterMs, graceMs }),
      Math.min(Math.max(links + MARGIN_MS, Math.ceil(links * 1.25)), Math.floor(budget / (1 + PICK_SHARE))),
    );
  const dialFits = budget - pickWindowMs(answerTimeoutMs);
  const dialTimeoutMs =
    given.dialTimeoutMs ??
    Math.max(given.handshakeTimeoutMs ?? 1, Math.min(DEFAULT_DIAL_TIMEOUT_MS, Math.floor(dialFits)));
  const handshakeTimeoutMs =
    given.handshakeTimeoutMs ?? Math.min(DEFAULT_HANDSHAKE_TIMEOUT_MS, dialTimeoutMs);
  const wait = stagedWaitMs({ dialTimeoutMs, answerTimeoutMs });
  const stageTimeoutMs = given.stageTimeoutMs ?? Math.max(wait + MARGIN_MS, leastStageTimeoutMs(wait));
  const stallMs = given.stallMs ?? Math.min(DEFAULT_STALL_MS, Math.floor(stageTimeoutMs / 4));
  const clockAdoptMs = given.clockAdoptMs ?? DEFAULT_CLOCK_ADOPT_MS;
  // The default margin (30 s) shrinks to fit short stage and answer timeouts (T8).
  const margin = Math.min(
    DEFAULT_CLOCK_REFUSE_MS - DEFAULT_CLOCK_ADOPT_MS,
    Math.floor(stageTimeoutMs / 2),
    Math.floor(answerTimeoutMs / 2),
  );
  const clockRefuseMs = given.clockRefuseMs ?? clockAdoptMs + margin;
  const resolved = {
    dialTimeoutMs,
    stageTimeoutMs,
    handshakeTimeoutMs,
    answerTimeoutMs,
    stallMs,
    deadAfterMs,
    graceMs,
    clockAdoptMs,
    clockRefuseMs,
  };
  checkTimeouts(resolved);
  return resolved;
}

/** Refuse a set that breaks T1, T2, T6, T7 or T8 (spec/limits.md §3.1) with E_OPTIONS, naming the rule. */
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
  const answer = leastAnswerTimeoutMs(t);
  if (t.answerTimeoutMs < answer || t.answerTimeoutMs <= 0) {
    throw new CapbusError(
      "E_OPTIONS",
      `answerTimeoutMs (${t.answerTimeoutMs}) must be above 0 and at least 1.25 × (deadAfterMs ` +
        `${t.deadAfterMs} + graceMs ${t.graceMs}) = ${answer}: a sender would close a session the grace ` +
        "keeps for a resume (spec/limits.md §3.1 T6)",
    );
  }
  const least = leastStageTimeoutMs(stagedWaitMs(t));
  if (t.stageTimeoutMs < least) {
    throw new CapbusError(
      "E_OPTIONS",
      `stageTimeoutMs (${t.stageTimeoutMs}) must be at least 1.25 × (max(dialTimeoutMs ${t.dialTimeoutMs}, ` +
        `answerTimeoutMs ${t.answerTimeoutMs}) + 0.8 × answerTimeoutMs) = ${least}: a destination would ` +
        "cut off a healthy sender still waiting on a holder, a broken link or a silent participant " +
        "(spec/limits.md §3.1 T2)",
    );
  }
  if (!(t.stallMs > 0 && t.stallMs < t.stageTimeoutMs)) {
    throw new CapbusError(
      "E_OPTIONS",
      `stallMs (${t.stallMs}) must be above 0 and below stageTimeoutMs (${t.stageTimeoutMs}): with 0 every ` +
        "staged entry would count as a stall (spec/limits.md §3.1 T7)",
    );
  }
  checkClockBounds(t);
}

/**
 * T8: the clock offsets of H2 (spec/ordering.md §2). The refuse offset must exceed the adopt
 * offset (their difference, less 1 ms, is the wall-clock skew tolerated between linked peers),
 * and a frame's hold (at most that difference) must fit twice in the stage timeout and in the
 * answer timeout, so a hold trips neither.
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
        "between them, any clock skew closes links (spec/limits.md §3.1 T8)",
    );
  }
  const shorter = Math.min(t.stageTimeoutMs, t.answerTimeoutMs);
  if (t.clockRefuseMs - t.clockAdoptMs > shorter / 2) {
    throw new CapbusError(
      "E_OPTIONS",
      `clockRefuseMs - clockAdoptMs (${t.clockRefuseMs - t.clockAdoptMs}) must be at most half of ` +
        `stageTimeoutMs (${t.stageTimeoutMs}) and of answerTimeoutMs (${t.answerTimeoutMs}): a frame held ` +
        "for the clock would trip them (spec/limits.md §3.1 T8)",
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
